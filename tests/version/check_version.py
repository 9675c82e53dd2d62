#!/usr/bin/env python3
"""Checks that every place that states stageflow's version agrees with <stageflow/version.hpp>,
where it is written: Meson's project(), the generated pkg-config file and CMake package version
file, the root CMakeLists.txt's reading of the header (cmake -P), and `stageflow-delta --version`.

  check_version.py --header H --meson V --pc FILE --cmake-version FILE [--cmake CMAKE --cmake-script F]
                   [--cli PROGRAM]
"""
import argparse
import re
import shutil
import subprocess
import sys


def header_version(path):
    text = open(path, encoding='utf-8').read()
    parts = []
    for part in ('MAJOR', 'MINOR', 'PATCH'):
        m = re.search(rf'^#define STAGEFLOW_VERSION_{part} (\d+)$', text, re.MULTILINE)
        if not m:
            sys.exit(f'{path}: no STAGEFLOW_VERSION_{part}')
        parts.append(m.group(1))
    return '.'.join(parts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--header', required=True)
    parser.add_argument('--meson', required=True)
    parser.add_argument('--pc', required=True)
    parser.add_argument('--cmake-version', required=True)
    parser.add_argument('--cmake-script')
    parser.add_argument('--cli')
    args = parser.parse_args()

    truth = header_version(args.header)
    found = {'meson.build project()': args.meson}
    pc = open(args.pc, encoding='utf-8').read()
    found['stageflow.pc'] = (re.search(r'^Version:\s*(\S+)', pc, re.MULTILINE) or [None, None])[1]
    cmake_version = open(args.cmake_version, encoding='utf-8').read()
    found['stageflowConfigVersion.cmake'] = (re.search(r'set\(PACKAGE_VERSION "([^"]*)"\)', cmake_version) or [None, None])[1]
    skipped = []
    cmake = shutil.which('cmake')
    if args.cmake_script and cmake:
        result = subprocess.run([cmake, '-P', args.cmake_script], capture_output=True, text=True, timeout=60)
        found['CMakeLists.txt (cmake/stageflow-version.cmake)'] = result.stderr.strip() or result.stdout.strip()
    elif args.cmake_script:
        skipped.append('CMakeLists.txt: cmake is not installed')
    if args.cli:
        result = subprocess.run([args.cli, '--version'], capture_output=True, text=True, timeout=60)
        found['stageflow-delta --version'] = result.stdout.strip().removeprefix('stageflow-delta ')
    else:
        skipped.append('stageflow-delta: not built (-Dtools=false)')

    wrong = {where: v for where, v in found.items() if v != truth}
    for where, v in found.items():
        print(f'{"ok  " if v == truth else "DIFF"} {where}: {v}')
    for reason in skipped:
        print(f'not checked: {reason}')
    if wrong:
        sys.exit(f'include/stageflow/version.hpp says {truth}; these differ: {wrong}')
    print(f'version {truth} everywhere')


if __name__ == '__main__':
    main()
