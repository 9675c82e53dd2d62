#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Compile-fail check: passes iff SOURCE does NOT compile, for the reason it states.

Usage: check.py SOURCE -- COMPILER [ARGS...]

SOURCE is compiled with `COMPILER ARGS... SOURCE` (give -std=c++20 -fsyntax-only and the include
flags in ARGS). The check passes when:
  * the compilation fails, and
  * stderr contains the text of every `// expect-error: <text>` line of SOURCE (at least one is
    required; matching ignores case and runs of whitespace), and
  * stderr has at most N lines with "error" in them, when SOURCE has `// expect-max-errors: N`
    (a readable diagnostic, not a page of template noise), and
  * when SOURCE mentions STAGEFLOW_COMPILE_FAIL_CONTROL, it compiles cleanly with
    -DSTAGEFLOW_COMPILE_FAIL_CONTROL: the control variant swaps the offending line for a correct
    one, proving the failure comes from that line and not from a typo or a missing include.
"""

import re
import subprocess
import sys

CONTROL_MACRO = "STAGEFLOW_COMPILE_FAIL_CONTROL"


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def compile_source(command: list[str], source: str, extra: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command + extra + [source], capture_output=True, text=True, errors="replace")
    except OSError as error:
        print(f"FAIL: cannot run the compiler {command[0]!r}: {error}")
        sys.exit(1)


def main() -> int:
    if "--" not in sys.argv or sys.argv.index("--") != 2 or len(sys.argv) < 4:
        print(__doc__)
        return 2
    source = sys.argv[1]
    command = sys.argv[3:]

    with open(source, encoding="utf-8") as file:
        text = file.read()
    expected = [m.group(1).strip() for m in re.finditer(r"//\s*expect-error:\s*(.+)", text)]
    if not expected:
        print(f"FAIL: {source} has no `// expect-error: <text>` line; say what the error must contain")
        return 1
    max_errors_match = re.search(r"//\s*expect-max-errors:\s*(\d+)", text)

    result = compile_source(command, source, [])
    if result.returncode == 0:
        print(f"FAIL: {source} compiled, but it must not")
        return 1
    stderr = normalize(result.stderr)
    missing = [e for e in expected if normalize(e) not in stderr]
    if missing:
        print(f"FAIL: {source} failed to compile, but the diagnostics lack: {missing}")
        print("---- compiler output ----")
        print(result.stderr)
        return 1
    if max_errors_match:
        limit = int(max_errors_match.group(1))
        error_lines = [line for line in result.stderr.splitlines() if re.search(r"\berror\b", line)]
        if len(error_lines) > limit:
            print(f"FAIL: {source} gives {len(error_lines)} error lines, at most {limit} allowed:")
            print("\n".join(error_lines))
            return 1

    if CONTROL_MACRO in text:
        control = compile_source(command, source, [f"-D{CONTROL_MACRO}"])
        if control.returncode != 0:
            print(f"FAIL: the control variant of {source} (-D{CONTROL_MACRO}) must compile, but:")
            print(control.stderr)
            return 1

    print(f"PASS: {source} fails to compile with: {expected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
