#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Tests the stageflow-delta command: diff and apply, stdin, metrics, --help, errors and exit codes.
# Usage: test_stageflow_delta.sh path/to/stageflow-delta
set -uo pipefail

tool=${1:?usage: $0 path/to/stageflow-delta}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect_status STATUS COMMAND...: runs COMMAND, output in $work/out and $work/err.
expect_status() {
  local want=$1; shift
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "exit status $got, expected $want: $* (stderr: $(cat "$work/err"))"
}
expect_stdout() { [ "$(cat "$work/out")" = "$1" ] || fail "stdout '$(cat "$work/out")', expected '$1'"; }
expect_stderr_has() { grep -qF -- "$1" "$work/err" || fail "stderr lacks '$1': $(cat "$work/err")"; }

printf '{\n  "a": 1,\n  "b": [1, 2, 3],\n  "pad": "%s"\n}\n' "$(printf 'x%.0s' {1..200})" >"$work/base.json"
printf '{"a": 2, "b": [1, 2, 3, 4], "pad": "%s"}' "$(printf 'x%.0s' {1..200})" >"$work/current.json"
delta='[{"op":"replace","path":"/a","value":2},{"op":"add","path":"/b/-","value":4}]'

# diff: the delta on stdout, metrics (text) on stderr.
expect_status 0 "$tool" diff "$work/base.json" "$work/current.json"
expect_stdout "$delta"
expect_stderr_has "delta ${#delta} bytes"
expect_stderr_has "2 operations"

# --metrics=json: one JSON line on stderr.
expect_status 0 "$tool" diff --metrics=json "$work/base.json" "$work/current.json"
expect_stdout "$delta"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "--metrics=json printed more than one line"
expect_stderr_has "\"delta_bytes\":${#delta},"
expect_stderr_has '"operations":2}'
expect_status 0 "$tool" diff --metrics none "$work/base.json" "$work/current.json"
[ ! -s "$work/err" ] || fail "--metrics none printed metrics"

# apply: the rebuilt document, minified; a delta from stdin.
printf '%s' "$delta" >"$work/delta.json"
expect_status 0 "$tool" apply "$work/base.json" "$work/delta.json"
expect_stdout "{\"a\":2,\"b\":[1,2,3,4],\"pad\":\"$(printf 'x%.0s' {1..200})\"}"
expect_status 0 bash -c "printf '%s' '$delta' | \"\$0\" apply \"\$1\" -" "$tool" "$work/base.json"
expect_stdout "{\"a\":2,\"b\":[1,2,3,4],\"pad\":\"$(printf 'x%.0s' {1..200})\"}"
# diff with the current document from stdin, then apply that delta: the round trip.
expect_status 0 bash -c "\"\$0\" diff --metrics=none \"\$1\" - < \"\$2\"" "$tool" "$work/base.json" "$work/current.json"
cp "$work/out" "$work/delta2.json"
expect_status 0 "$tool" apply "$work/base.json" "$work/delta2.json"
cp "$work/out" "$work/rebuilt.json"
expect_status 0 "$tool" diff --metrics=none "$work/rebuilt.json" "$work/current.json"
expect_stdout "[]"

# --help on stdout, status 0.
expect_status 0 "$tool" --help
grep -qF "stageflow-delta diff" "$work/out" || fail "--help lacks the usage"

# Usage errors: status 2.
expect_status 2 "$tool"
expect_stderr_has "missing command"
expect_status 2 "$tool" merge a b
expect_stderr_has "unknown command 'merge'"
expect_status 2 "$tool" diff "$work/base.json"
expect_stderr_has "exactly two files"
expect_status 2 "$tool" diff --metrics=xml "$work/base.json" "$work/current.json"
expect_stderr_has "unknown --metrics format"
expect_status 2 "$tool" diff --frobnicate "$work/base.json" "$work/current.json"
expect_stderr_has "unknown option"
expect_status 2 "$tool" diff - -
expect_stderr_has "only one of the two files"

# Unreadable file: status 3.
expect_status 3 "$tool" diff "$work/missing.json" "$work/current.json"
expect_stderr_has "cannot open '$work/missing.json'"

# Malformed JSON: status 1, the file and position named.
printf '{"a": 1,\n "b": }' >"$work/bad.json"
expect_status 1 "$tool" diff "$work/base.json" "$work/bad.json"
expect_stderr_has "'$work/bad.json' (current) is not valid JSON: line 2, column 7"
expect_status 1 "$tool" apply "$work/bad.json" "$work/delta.json"
expect_stderr_has "(base) is not valid JSON"
expect_status 1 "$tool" apply "$work/base.json" "$work/bad.json"
expect_stderr_has "(delta) is not valid JSON"

# A delta that does not apply: status 1, the operation and path named, nothing on stdout.
printf '[{"op":"replace","path":"/a","value":5},{"op":"remove","path":"/b/9"}]' >"$work/wrong.json"
expect_status 1 "$tool" apply "$work/base.json" "$work/wrong.json"
expect_stderr_has 'operation 1 (remove "/b/9")'
[ ! -s "$work/out" ] || fail "a failed apply wrote output"

# Issue 16, defect 6: errors in a delta file name the file; a bad "from" is labelled with it; an
# operation without "path" is not shown as the root pointer.
expect_stderr_has "stageflow-delta: '$work/wrong.json' (delta) operation 1"
printf '[{"op":"copy","from":"/nope","path":"/x"}]' >"$work/bad-from.json"
expect_status 1 "$tool" apply "$work/base.json" "$work/bad-from.json"
expect_stderr_has "'$work/bad-from.json' (delta) operation 0 (copy from \"/nope\" to \"/x\"): \"from\" does not exist"
printf '[{"op":"add","value":1}]' >"$work/no-path.json"
expect_status 1 "$tool" apply "$work/base.json" "$work/no-path.json"
expect_stderr_has 'operation 0 (add): missing "path"'
printf '{"op":"add"}' >"$work/not-patch.json"
expect_status 1 "$tool" apply "$work/base.json" "$work/not-patch.json"
expect_stderr_has "'$work/not-patch.json' (delta) is not a JSON Patch"
expect_status 0 "$tool" --version
grep -qE '^stageflow-delta [0-9]+\.[0-9]+\.[0-9]+' "$work/out" || fail "--version printed '$(cat "$work/out")'"

# Issue 16, defect 4: input is read up to a limit, then refused with status 1 naming the file and
# the limit; memory stays near the limit (not the 1 GB an unbounded read of /dev/zero reached).
expect_status 1 "$tool" --max-input-bytes=1000000 diff /dev/zero "$work/current.json"
expect_stderr_has "'/dev/zero' is larger than the input limit of 1000000 bytes"
expect_status 1 "$tool" apply --max-input-bytes 100 "$work/base.json" "$work/delta.json"
expect_stderr_has "'$work/base.json' is larger than the input limit of 100 bytes"
expect_status 1 bash -c "head -c 5000 /dev/zero | \"\$0\" diff --max-input-bytes=4096 - \"\$1\"" "$tool" "$work/current.json"
expect_stderr_has "standard input is larger than the input limit of 4096 bytes"
# Exactly at the limit is accepted.
size=$(wc -c <"$work/base.json")
expect_status 0 "$tool" diff --metrics=none --max-input-bytes="$size" "$work/base.json" "$work/base.json"
expect_status 2 "$tool" diff --max-input-bytes=lots "$work/base.json" "$work/current.json"
expect_stderr_has "--max-input-bytes takes a byte count"
expect_status 2 "$tool" diff --max-input-bytes=4294967296 "$work/base.json" "$work/current.json"
if [ -x /usr/bin/time ] && [ -z "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then  # sanitizers keep freed memory
  # 64 MiB of zeros with a 32 MiB limit: the peak resident set stays under the limit plus 16 MiB.
  /usr/bin/time -f '%M' -o "$work/rss" "$tool" --max-input-bytes=33554432 diff /dev/zero "$work/current.json" \
    >/dev/null 2>"$work/err"
  peak_kib=$(tail -1 "$work/rss")
  [ "$peak_kib" -lt $(( (32 + 16) * 1024 )) ] || fail "reading /dev/zero to a 32 MiB limit peaked at $peak_kib KiB"
fi

# Issue 25, defect 3: integers beyond 64 bits (as JavaScript writes them) are read as doubles and
# keep their text; a number beyond the double range is still refused.
printf '{"a": -9223372036854776000, "b": 1}' >"$work/js-base.json"
printf '{"a": -9223372036854776000, "b": 18446744073709551616}' >"$work/js-current.json"
expect_status 0 "$tool" diff --metrics=none "$work/js-base.json" "$work/js-current.json"
expect_stdout '[{"op":"replace","path":"/b","value":18446744073709551616}]'
cp "$work/out" "$work/js-delta.json"
expect_status 0 "$tool" apply "$work/js-base.json" "$work/js-delta.json"
expect_stdout '{"a":-9223372036854776000,"b":18446744073709551616}'
printf '[1e400]' >"$work/huge.json"
expect_status 1 "$tool" diff "$work/js-base.json" "$work/huge.json"
expect_stderr_has "out of range"

# Issue 25, defect 13: copies that double the document end with status 1 and a clear error before
# they allocate (24 of them took 2.6 GB; 40 here would be 2^40 copies of the base).
{
  printf '['
  for i in $(seq 0 39); do [ "$i" -gt 0 ] && printf ','; printf '{"op":"copy","from":"","path":"/k%d"}' "$i"; done
  printf ']'
} >"$work/bomb.json"
printf '{"x":0}' >"$work/small.json"
expect_status 1 "$tool" apply "$work/small.json" "$work/bomb.json"
expect_stderr_has "over the limit of"
expect_stderr_has "stageflow-delta --max-document-bytes)"
[ ! -s "$work/out" ] || fail "a refused apply wrote output"
# The flag sets the bound: 3 doublings (98 bytes) fit in 200 bytes, not in 50.
printf '[{"op":"copy","from":"","path":"/k0"},{"op":"copy","from":"","path":"/k1"},{"op":"copy","from":"","path":"/k2"}]' \
  >"$work/three.json"
expect_status 0 "$tool" apply --max-document-bytes=200 "$work/small.json" "$work/three.json"
expect_status 1 "$tool" apply --max-document-bytes 50 "$work/small.json" "$work/three.json"
expect_stderr_has "over the limit of 50 bytes"
expect_status 2 "$tool" apply --max-document-bytes=many "$work/small.json" "$work/three.json"
expect_stderr_has "--max-document-bytes takes a byte count"
expect_status 2 "$tool" diff --max-document-bytes=100 "$work/small.json" "$work/small.json"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "stageflow-delta: all checks passed"
