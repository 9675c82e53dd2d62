#!/usr/bin/env bash
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

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "stageflow-delta: all checks passed"
