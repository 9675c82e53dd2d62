// SPDX-License-Identifier: BSL-1.0
// Where memory figures come from, one function per source. MemoryTracker uses them; they are public
// so a program can read one figure without a tracker.
//
//   source            figure                          platforms                cost (docs/memory-tracking.md)
//   counter           exact heap bytes and counts     any (opt-in header)      tens of ns
//   allocator         heap bytes in use (mallinfo2)   glibc >= 2.33            0.2 us, grows with free chunks
//   resident set      RSS (/proc/self/statm)          Linux                    about 1 us
//   resident peak     peak RSS (getrusage)            Linux, BSDs, macOS       about 0.5 us
//
// A source the platform lacks gives std::nullopt, never a made-up zero. The macros below say what
// was detected; define one to 0 before including to switch a source off (for instance
// STAGEFLOW_MEMORY_HAS_MALLINFO2=0 when jemalloc or tcmalloc replaces malloc, since glibc's
// mallinfo2 would then describe an arena nobody uses; under a sanitizer this is automatic).
#pragma once

#include <stageflow/memory/detail/allocation_counter_state.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>  // defines __GLIBC__ on glibc systems
#include <optional>
#include <string_view>

// Sanitizers (address, thread, memory) bring their own malloc: glibc's statistics would then
// describe an arena nobody uses.
#if !defined(STAGEFLOW_MEMORY_SANITIZER_MALLOC)
#  if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#    define STAGEFLOW_MEMORY_SANITIZER_MALLOC 1
#  elif defined(__has_feature)
#    if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer) || \
        __has_feature(hwaddress_sanitizer)
#      define STAGEFLOW_MEMORY_SANITIZER_MALLOC 1
#    endif
#  endif
#endif
#if !defined(STAGEFLOW_MEMORY_SANITIZER_MALLOC)
#  define STAGEFLOW_MEMORY_SANITIZER_MALLOC 0
#endif

#if !defined(STAGEFLOW_MEMORY_HAS_MALLINFO2)
#  if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)) && \
      !STAGEFLOW_MEMORY_SANITIZER_MALLOC
#    define STAGEFLOW_MEMORY_HAS_MALLINFO2 1
#  else
#    define STAGEFLOW_MEMORY_HAS_MALLINFO2 0
#  endif
#endif
#if !defined(STAGEFLOW_MEMORY_HAS_PROC_STATM)
#  if defined(__linux__)
#    define STAGEFLOW_MEMORY_HAS_PROC_STATM 1
#  else
#    define STAGEFLOW_MEMORY_HAS_PROC_STATM 0
#  endif
#endif
#if !defined(STAGEFLOW_MEMORY_HAS_GETRUSAGE)
#  if defined(__unix__) || defined(__APPLE__)
#    define STAGEFLOW_MEMORY_HAS_GETRUSAGE 1
#  else
#    define STAGEFLOW_MEMORY_HAS_GETRUSAGE 0
#  endif
#endif

#if STAGEFLOW_MEMORY_HAS_MALLINFO2
#  include <malloc.h>
#endif
#if STAGEFLOW_MEMORY_HAS_PROC_STATM
#  include <fcntl.h>
#  include <pthread.h>
#  include <unistd.h>
#endif
#if STAGEFLOW_MEMORY_HAS_GETRUSAGE
#  include <sys/resource.h>
#endif

namespace stageflow::helpers {

/// Which figure a sample's heap_bytes holds.
enum class HeapSource : std::uint8_t {
  automatic,  ///< the best available: the counter when installed, else the allocator's statistics, else none
  counter,    ///< the opt-in allocation counter (exact requested bytes)
  allocator,  ///< the C allocator's own statistics (glibc mallinfo2: arena bytes in use + mmapped)
  none,       ///< no heap figure
  custom,     ///< a reader given to the tracker
};

constexpr std::string_view to_string(HeapSource source) noexcept {
  switch (source) {
    case HeapSource::automatic: return "automatic";
    case HeapSource::counter: return "counter";
    case HeapSource::allocator: return "allocator";
    case HeapSource::none: return "none";
    case HeapSource::custom: return "custom";
  }
  return "unknown";
}

/// What this build can read, decided at compile time.
inline constexpr bool allocator_statistics_available = STAGEFLOW_MEMORY_HAS_MALLINFO2 != 0;
inline constexpr bool resident_set_available = STAGEFLOW_MEMORY_HAS_PROC_STATM != 0;
inline constexpr bool resident_set_peak_available = STAGEFLOW_MEMORY_HAS_GETRUSAGE != 0;

/// Why HeapSource::allocator is unavailable in this build, for messages; empty when it is available.
inline constexpr std::string_view allocator_statistics_unavailable_reason =
#if STAGEFLOW_MEMORY_HAS_MALLINFO2
    "";
#elif STAGEFLOW_MEMORY_SANITIZER_MALLOC
    "this build runs under a sanitizer (address, thread, memory), whose malloc replaces the C allocator: "
    "mallinfo2 would describe an arena nobody uses";
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    "it was switched off (STAGEFLOW_MEMORY_HAS_MALLINFO2=0)";
#else
    "the C library is not glibc 2.33 or later (no mallinfo2)";
#endif

/// The allocation counter's totals since the program started. Only operator new/delete are seen.
struct AllocationCounts {
  std::uint64_t allocations = 0;    ///< operator new calls that returned memory
  std::uint64_t deallocations = 0;  ///< operator delete calls on non-null pointers
  std::size_t live_bytes = 0;       ///< requested bytes not yet freed

  constexpr std::uint64_t live_allocations() const noexcept {
    return allocations >= deallocations ? allocations - deallocations : 0;
  }
  friend constexpr bool operator==(const AllocationCounts&, const AllocationCounts&) = default;
};

/// One reading of every selected source. Absent figures are std::nullopt.
struct MemoryReading {
  std::optional<std::size_t> heap_bytes;      ///< heap in use, from heap_source
  std::optional<std::size_t> rss_bytes;       ///< resident set size now
  std::optional<std::size_t> rss_peak_bytes;  ///< the kernel's RSS high-water mark (process lifetime), >= rss_bytes
  std::optional<AllocationCounts> allocations;  ///< present when the counter is installed
  HeapSource heap_source = HeapSource::none;
};

/// True when <stageflow/memory/allocation_counter.hpp> is part of this program.
inline bool allocation_counter_installed() noexcept {
  return stageflow::detail::allocation_counter_registry.installed.load(std::memory_order_acquire);
}

/// The counter's totals, or nullopt without the counter. Exact when no other thread allocates meanwhile.
inline std::optional<AllocationCounts> allocation_counts() noexcept {
  if (!allocation_counter_installed()) return std::nullopt;
  const stageflow::detail::AllocationTotals totals = stageflow::detail::sum_allocation_slots();
  return AllocationCounts{totals.allocations, totals.deallocations,
                          totals.live_bytes > 0 ? static_cast<std::size_t>(totals.live_bytes) : 0};
}

/// Heap bytes in use according to the C allocator (glibc: arena bytes in use plus mmapped chunks;
/// freed blocks parked in the thread caches count as in use). nullopt without glibc >= 2.33.
/// Cost: mallinfo2 locks each arena and walks its free lists, so it grows with fragmentation.
inline std::optional<std::size_t> allocator_heap_bytes() noexcept {
#if STAGEFLOW_MEMORY_HAS_MALLINFO2
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
#else
  return std::nullopt;
#endif
}

}  // namespace stageflow::helpers

namespace stageflow::detail {

#if STAGEFLOW_MEMORY_HAS_PROC_STATM
/// Bumped in a forked child, whose cached /proc/self descriptor still names the parent.
inline std::atomic<std::uint32_t> memory_fork_generation{0};

inline void register_memory_fork_handler() noexcept {
  static const bool registered = [] {
    ::pthread_atfork(nullptr, nullptr, [] { memory_fork_generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
}

/// Parses the second field of /proc/self/statm (resident pages).
inline std::optional<std::size_t> parse_statm_resident_pages(std::string_view text) noexcept {
  std::size_t position = 0;
  auto read_number = [&]() -> std::optional<std::size_t> {
    while (position < text.size() && text[position] == ' ') ++position;
    const std::size_t start = position;
    std::size_t value = 0;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9')
      value = value * 10 + static_cast<std::size_t>(text[position++] - '0');
    if (position == start) return std::nullopt;
    return value;
  };
  if (!read_number()) return std::nullopt;  // total program size
  return read_number();
}

/// Resident pages from /proc/self/statm. The file is opened once per process (close-on-exec) and
/// re-read with pread, which costs a fifth of open/read/close. After a fork the child opens its own
/// (the inherited descriptor is left alone: it may no longer be ours to close).
inline std::optional<std::size_t> statm_resident_pages() noexcept {
  constexpr std::uint64_t no_descriptor = ~std::uint64_t{0};
  static std::atomic<std::uint64_t> cached{no_descriptor};  // (fork generation << 32) | descriptor
  register_memory_fork_handler();
  const std::uint32_t generation = memory_fork_generation.load(std::memory_order_relaxed);
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::uint64_t packed = cached.load(std::memory_order_acquire);
    if (packed == no_descriptor || static_cast<std::uint32_t>(packed >> 32) != generation) {
      const int fresh = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
      if (fresh < 0) return std::nullopt;
      const std::uint64_t desired = (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fresh);
      if (!cached.compare_exchange_strong(packed, desired, std::memory_order_acq_rel)) {
        ::close(fresh);  // another thread installed one first: use that
        continue;
      }
      packed = desired;
    }
    const int descriptor = static_cast<int>(static_cast<std::uint32_t>(packed));
    char buffer[128];
    const ::ssize_t length = ::pread(descriptor, buffer, sizeof buffer, 0);
    if (length > 0) {
      if (auto pages = parse_statm_resident_pages(std::string_view(buffer, static_cast<std::size_t>(length))))
        return pages;
    }
    // The descriptor went bad (something closed it): forget it and open a fresh one.
    cached.compare_exchange_strong(packed, no_descriptor, std::memory_order_acq_rel);
  }
  return std::nullopt;
}
#endif

}  // namespace stageflow::detail

namespace stageflow::helpers {

/// Resident set size now (Linux: /proc/self/statm). nullopt elsewhere.
inline std::optional<std::size_t> resident_set_bytes() noexcept {
#if STAGEFLOW_MEMORY_HAS_PROC_STATM
  static const long page_size = ::sysconf(_SC_PAGESIZE);
  if (page_size <= 0) return std::nullopt;
  if (auto pages = stageflow::detail::statm_resident_pages()) return *pages * static_cast<std::size_t>(page_size);
  return std::nullopt;
#else
  return std::nullopt;
#endif
}

/// The highest resident set size of the process so far (getrusage's ru_maxrss): a process-lifetime
/// high-water mark kept by the kernel, including threads that have exited. nullopt where unknown.
inline std::optional<std::size_t> resident_set_peak_bytes() noexcept {
#if STAGEFLOW_MEMORY_HAS_GETRUSAGE
  struct rusage usage {};
  if (::getrusage(RUSAGE_SELF, &usage) != 0 || usage.ru_maxrss < 0) return std::nullopt;
#  if defined(__APPLE__)
  return static_cast<std::size_t>(usage.ru_maxrss);  // bytes on macOS
#  else
  return static_cast<std::size_t>(usage.ru_maxrss) * 1024;  // KiB on Linux and the BSDs
#  endif
#else
  return std::nullopt;
#endif
}

/// What HeapSource::automatic means in this program: the counter when installed, else the
/// allocator's statistics when available (not under a sanitizer), else none.
inline HeapSource best_available_heap_source() noexcept {
  if (allocation_counter_installed()) return HeapSource::counter;
  return allocator_statistics_available ? HeapSource::allocator : HeapSource::none;
}

/// Reads the selected sources once. `heap` = automatic picks best_available_heap_source().
/// Counts are included whenever the counter is installed.
inline MemoryReading read_memory(HeapSource heap = HeapSource::automatic, bool resident_set = true) noexcept {
  MemoryReading reading;
  reading.allocations = allocation_counts();
  if (heap == HeapSource::automatic)
    heap = reading.allocations ? HeapSource::counter
                               : (allocator_statistics_available ? HeapSource::allocator : HeapSource::none);
  if (heap == HeapSource::counter && reading.allocations) {
    reading.heap_bytes = reading.allocations->live_bytes;
    reading.heap_source = HeapSource::counter;
  } else if (heap == HeapSource::allocator) {
    reading.heap_bytes = allocator_heap_bytes();
    reading.heap_source = reading.heap_bytes ? HeapSource::allocator : HeapSource::none;
  }
  if (resident_set) {
    reading.rss_bytes = resident_set_bytes();
    reading.rss_peak_bytes = resident_set_peak_bytes();
    // The kernel updates its high-water mark lazily and both figures are approximate per-CPU
    // counters, so the peak read can trail the current value by a few pages: a peak is never lower.
    if (reading.rss_bytes && reading.rss_peak_bytes && *reading.rss_peak_bytes < *reading.rss_bytes)
      reading.rss_peak_bytes = reading.rss_bytes;
  }
  return reading;
}

}  // namespace stageflow::helpers
