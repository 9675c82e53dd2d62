#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""A pre-C++20 compile of a public header stops at once with stageflow's one clear message
(include/stageflow/config.hpp), not with thousands of errors from deeper headers.

  cxx20_guard.py INCLUDE_DIR COMPILER...

Checks the umbrella header and the seed's faces, each compiled alone with -std=c++17: the compile
fails, its first error is ours, and there are at most two (the #error and the fatal include that
stops the compiler right after it).
"""
import re
import subprocess
import sys
import tempfile

PUBLIC_HEADERS = [
    'stageflow/stageflow.hpp',
    'stageflow/config.hpp',
    'stageflow/helpers/uuid_utils.hpp',
    'stageflow/helpers/memory_tracker.hpp',
    'stageflow/helpers/run_utils.hpp',
    'stageflow/pipeline/interceptors_hardening.hpp',
    'stageflow/compression.hpp',
    'stageflow/tools/executor.hpp',
]
MESSAGE = 'stageflow requires C++20'
ERROR = re.compile(r': (fatal )?error: ')


def main():
    include_dir, compiler = sys.argv[1], sys.argv[2:]
    failures = []
    with tempfile.TemporaryDirectory() as work:
        for header in PUBLIC_HEADERS:
            source = f'{work}/tu.cpp'
            with open(source, 'w') as f:
                f.write(f'#include <{header}>\nint main() {{}}\n')
            result = subprocess.run(compiler + ['-std=c++17', '-fsyntax-only', '-I' + include_dir, source],
                                    capture_output=True, text=True, timeout=120)
            errors = [line for line in result.stderr.splitlines() if ERROR.search(line)]
            if result.returncode == 0:
                failures.append(f'{header}: compiled with -std=c++17')
            elif not errors or MESSAGE not in errors[0]:
                failures.append(f'{header}: first error is not ours: {errors[:1]}')
            elif len(errors) > 2:
                failures.append(f'{header}: {len(errors)} errors, first: {errors[0]}')
            else:
                print(f'ok   {header}: {errors[0].split("error: ", 1)[-1]}')
    for failure in failures:
        print('FAIL ' + failure)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
