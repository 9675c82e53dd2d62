#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Checks that every place that states stageflow's version agrees with <stageflow/version.hpp>,
where it is written: Meson's project(), the generated pkg-config file and CMake package version
file, the root CMakeLists.txt's reading of the header (cmake -P), and `stageflow-delta --version`;
and that the pkg-config file and both CMake ways carry the license Meson's project() names.

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
    parser.add_argument('--license', help="meson.build's license: the .pc file and the CMake packages must carry it")
    parser.add_argument('--cmake-config', help='the generated stageflowConfig.cmake')
    parser.add_argument('--cmake-lists', help='the root CMakeLists.txt')
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

    license_problems = []
    if args.license:
        carriers = {'stageflow.pc (license variable)': re.search(r'^license=(\S+)', pc, re.MULTILINE)}
        if args.cmake_config:
            carriers['stageflowConfig.cmake'] = re.search(r'set\(stageflow_LICENSE "([^"]*)"\)',
                                                          open(args.cmake_config, encoding='utf-8').read())
        if args.cmake_lists:
            carriers['CMakeLists.txt'] = re.search(r'set\(stageflow_LICENSE "([^"]*)"\)',
                                                   open(args.cmake_lists, encoding='utf-8').read())
        for where, m in carriers.items():
            value = m.group(1) if m else None
            print(f'{"ok  " if value == args.license else "DIFF"} license in {where}: {value}')
            if value != args.license:
                license_problems.append(where)
    wrong = {where: v for where, v in found.items() if v != truth}
    for where, v in found.items():
        print(f'{"ok  " if v == truth else "DIFF"} {where}: {v}')
    for reason in skipped:
        print(f'not checked: {reason}')
    if wrong:
        sys.exit(f'include/stageflow/version.hpp says {truth}; these differ: {wrong}')
    if license_problems:
        sys.exit(f'meson.build says license {args.license}; these do not: {license_problems}')
    print(f'version {truth} everywhere')


if __name__ == '__main__':
    main()
