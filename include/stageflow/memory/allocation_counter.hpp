// SPDX-License-Identifier: BSL-1.0
// The opt-in exact allocation counter: replaces the global operator new and operator delete (all
// twenty replaceable forms: plain, array, aligned, sized, nothrow) with counting versions.
//
// Include this header in EXACTLY ONE translation unit of a program (typically the one with main()).
// A second inclusion defines operator new twice and the link fails, which is the intended error.
//
//   // main.cpp
//   #include <stageflow/memory/allocation_counter.hpp>
//
// With it, every MemoryTracker in the program reports exact figures: heap bytes in use (requested
// bytes, not allocator pages), the number of allocations and deallocations, hence "this stage
// allocated 3 times and kept 8 MiB". Without it the tracker falls back to the allocator's
// statistics; detection is at run time, so nothing else changes and nothing fails to link.
//
// What it costs (benchmarks/bench_memory_counter.cpp; figures in docs/benchmarks.md):
//   - time: a thread-local slot update per new and per delete, no atomic read-modify-write and no
//     cache line shared between threads;
//   - space: a 16-byte header before each block (the requested size, so that an unsized delete
//     knows what it frees), or `alignment` bytes for an over-aligned new;
//   - one 64-byte slot per thread that ever allocated, reused after the thread exits.
// Counts only cover operator new/delete: malloc called directly (C libraries) is not seen.
//
// Rules that come with it: include it in the executable, not in a shared library (a library's
// definitions would lose to libstdc++'s in symbol lookup and count nothing); and memory from
// operator new must go back through operator delete, as the standard requires anyway (handing a
// new'd pointer to free() breaks with the header in front of each block).
//
// Blocks allocated while the tracker does its own bookkeeping are marked and never counted, at
// allocation or at deallocation, so observing does not disturb what is observed.
#pragma once

#include <stageflow/memory/detail/allocation_counter_state.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(_WIN32)
#  include <malloc.h>  // _aligned_malloc, _aligned_free
#endif

#if defined(__GNUC__) || defined(__clang__)
// Exported even from a program built with -fvisibility=hidden, so shared libraries use them too.
#  define STAGEFLOW_COUNTING_NEW_EXPORT __attribute__((visibility("default")))
#else
#  define STAGEFLOW_COUNTING_NEW_EXPORT
#endif

namespace stageflow::detail::counting_new {

inline constexpr std::size_t default_alignment = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
// The header holds the requested size and the offset back to the allocation (with a flag bit).
inline constexpr std::size_t header_size = 2 * sizeof(std::size_t);
inline constexpr std::size_t min_offset = header_size > default_alignment ? header_size : default_alignment;
inline constexpr std::size_t uncounted_flag = 1;  // offsets are powers of two >= 16: bit 0 is free

struct BlockHeader {
  std::size_t size;
  std::size_t offset_and_flags;
};
static_assert(sizeof(BlockHeader) == header_size);

inline void release_slot_at_thread_exit(AllocationCounterSlot* slot) noexcept {
  struct Releaser {
    AllocationCounterSlot* slot;
    ~Releaser() {
      auto& state = thread_allocation_state;
      state.exiting = true;  // later deallocations of this thread (other thread_local destructors) go to the shared slot
      state.slot = nullptr;
      slot->owned.store(false, std::memory_order_release);  // counts stay: a later thread continues from them
    }
  };
  thread_local Releaser releaser{slot};  // registers the destructor for this thread
  (void)releaser;
}

/// The calling thread's slot: a free one left by an exited thread, or a new one. Called once per thread.
inline AllocationCounterSlot* claim_thread_slot() noexcept {
  auto& state = thread_allocation_state;
  auto& registry = allocation_counter_registry;
  if (state.exiting || state.claiming) return &registry.shared;
  state.claiming = true;  // an allocation made while registering (by the C++ runtime) counts in the shared slot
  registry.installed.store(true, std::memory_order_release);

  AllocationCounterSlot* slot = nullptr;
  for (auto* candidate = registry.slots.load(std::memory_order_acquire); candidate != nullptr;
       candidate = candidate->next) {
    bool expected = false;
    if (!candidate->owned.load(std::memory_order_relaxed) &&
        candidate->owned.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      slot = candidate;
      break;
    }
  }
  if (slot == nullptr) {
    // From malloc, not operator new: this runs inside operator new.
#if defined(_WIN32)
    void* memory = ::_aligned_malloc(sizeof(AllocationCounterSlot), alignof(AllocationCounterSlot));
#else
    void* memory = std::aligned_alloc(alignof(AllocationCounterSlot), sizeof(AllocationCounterSlot));
#endif
    if (memory != nullptr) {
      slot = ::new (memory) AllocationCounterSlot();
      slot->owned.store(true, std::memory_order_relaxed);
      AllocationCounterSlot* head = registry.slots.load(std::memory_order_relaxed);
      do {
        slot->next = head;
      } while (!registry.slots.compare_exchange_weak(head, slot, std::memory_order_release, std::memory_order_relaxed));
    }
  }
  if (slot != nullptr) {
    state.slot = slot;
    release_slot_at_thread_exit(slot);
  }
  state.claiming = false;
  return slot != nullptr ? slot : &registry.shared;
}

inline AllocationCounterSlot* thread_slot() noexcept {
  AllocationCounterSlot* slot = thread_allocation_state.slot;
  if (slot == nullptr) [[unlikely]]
    slot = claim_thread_slot();
  return slot;
}

inline void count(std::size_t size, bool allocation) noexcept {
  AllocationCounterSlot* slot = thread_slot();
  const auto bytes = allocation ? static_cast<std::int64_t>(size) : -static_cast<std::int64_t>(size);
  auto& events = allocation ? slot->allocations : slot->deallocations;
  if (slot == &allocation_counter_registry.shared) [[unlikely]] {
    events.fetch_add(1, std::memory_order_relaxed);
    slot->live_bytes.fetch_add(bytes, std::memory_order_relaxed);
    return;
  }
  // This thread is the only writer: a load and a store, no read-modify-write.
  events.store(events.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  slot->live_bytes.store(slot->live_bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
}

inline void* try_allocate(std::size_t size, std::size_t alignment) noexcept {
  const std::size_t offset = alignment > min_offset ? alignment : min_offset;
  if (size > SIZE_MAX - 2 * offset) return nullptr;
#if defined(_WIN32)
  void* base = ::_aligned_malloc(size + offset, alignment > default_alignment ? alignment : default_alignment);
#else
  void* base = alignment <= default_alignment
                   ? std::malloc(size + offset)
                   // aligned_alloc wants a size that is a multiple of the alignment.
                   : std::aligned_alloc(alignment, (size + offset + alignment - 1) / alignment * alignment);
#endif
  if (base == nullptr) return nullptr;
  auto* user = static_cast<unsigned char*>(base) + offset;
  const bool counted = thread_allocation_state.paused == 0;
  const BlockHeader header{size, offset | (counted ? 0 : uncounted_flag)};
  std::memcpy(user - header_size, &header, header_size);
  if (counted) count(size, true);
  return user;
}

inline void deallocate(void* pointer) noexcept {
  if (pointer == nullptr) return;
  auto* user = static_cast<unsigned char*>(pointer);
  BlockHeader header;
  std::memcpy(&header, user - header_size, header_size);
  if ((header.offset_and_flags & uncounted_flag) == 0) count(header.size, false);
#if defined(_WIN32)
  ::_aligned_free(user - (header.offset_and_flags & ~uncounted_flag));
#else
  std::free(user - (header.offset_and_flags & ~uncounted_flag));
#endif
}

/// operator new's contract: call the new-handler until it succeeds, or throw std::bad_alloc.
inline void* allocate(std::size_t size, std::size_t alignment) {
  for (;;) {
    if (void* pointer = try_allocate(size, alignment)) return pointer;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

inline void* allocate_nothrow(std::size_t size, std::size_t alignment) noexcept {
  try {
    return allocate(size, alignment);
  } catch (...) {  // the new-handler may throw too
    return nullptr;
  }
}

// Registered at start-up too, so a tracker created before the first allocation finds the counter.
[[maybe_unused]] static const bool registered_at_startup = [] {
  allocation_counter_registry.installed.store(true, std::memory_order_release);
  return true;
}();

}  // namespace stageflow::detail::counting_new

// The replacements. Not inline (the standard forbids it): hence "exactly one translation unit".

STAGEFLOW_COUNTING_NEW_EXPORT void* operator new(std::size_t size) {
  return stageflow::detail::counting_new::allocate(size, stageflow::detail::counting_new::default_alignment);
}
STAGEFLOW_COUNTING_NEW_EXPORT void* operator new[](std::size_t size) {
  return stageflow::detail::counting_new::allocate(size, stageflow::detail::counting_new::default_alignment);
}
STAGEFLOW_COUNTING_NEW_EXPORT void* operator new(std::size_t size, std::align_val_t alignment) {
  return stageflow::detail::counting_new::allocate(size, static_cast<std::size_t>(alignment));
}
STAGEFLOW_COUNTING_NEW_EXPORT void* operator new[](std::size_t size, std::align_val_t alignment) {
  return stageflow::detail::counting_new::allocate(size, static_cast<std::size_t>(alignment));
}
STAGEFLOW_COUNTING_NEW_EXPORT void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return stageflow::detail::counting_new::allocate_nothrow(size, stageflow::detail::counting_new::default_alignment);
}
STAGEFLOW_COUNTING_NEW_EXPORT void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return stageflow::detail::counting_new::allocate_nothrow(size, stageflow::detail::counting_new::default_alignment);
}
STAGEFLOW_COUNTING_NEW_EXPORT void* operator new(std::size_t size, std::align_val_t alignment,
                                                 const std::nothrow_t&) noexcept {
  return stageflow::detail::counting_new::allocate_nothrow(size, static_cast<std::size_t>(alignment));
}
STAGEFLOW_COUNTING_NEW_EXPORT void* operator new[](std::size_t size, std::align_val_t alignment,
                                                   const std::nothrow_t&) noexcept {
  return stageflow::detail::counting_new::allocate_nothrow(size, static_cast<std::size_t>(alignment));
}

// Every delete reads the block's own header, so sizes and alignments passed in are not needed.
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete(void* pointer) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete[](void* pointer) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete(void* pointer, std::align_val_t) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete[](void* pointer, std::align_val_t) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete(void* pointer, std::size_t) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete[](void* pointer, std::size_t) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete(void* pointer, std::size_t, std::align_val_t) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete[](void* pointer, std::size_t, std::align_val_t) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete(void* pointer, const std::nothrow_t&) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete[](void* pointer, const std::nothrow_t&) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete(void* pointer, std::align_val_t, const std::nothrow_t&) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
STAGEFLOW_COUNTING_NEW_EXPORT void operator delete[](void* pointer, std::align_val_t,
                                                     const std::nothrow_t&) noexcept {
  stageflow::detail::counting_new::deallocate(pointer);
}
