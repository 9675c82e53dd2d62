#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Builds and runs tests/consumers/program/consumer.cpp from outside the repository, one way a
user would consume stageflow, and checks that it sees the hardening that build must have.

  run.py KIND --source ROOT --work DIR [--cxx COMPILER...]

KIND:
  meson-subproject-release   a Meson project with stageflow in subprojects/, --buildtype=release,
                             no b_ndebug: hardening off; nothing of stageflow's own is built and
                             neither Catch2 nor Google Benchmark is looked up. Hermetic: configured
                             with --force-fallback-for=stageflow while an installed copy is on
                             PKG_CONFIG_PATH, and checked to have used the subproject
  meson-subproject-debug     the same, --buildtype=debug: hardening on
  meson-installed-release    `meson install` to a prefix, then a Meson project whose
                             dependency('stageflow') finds that copy's stageflow.pc,
                             --buildtype=release: hardening off, as with the subproject
  meson-installed-debug      the same, --buildtype=debug: hardening on
  pkg-config                 `meson install` to a prefix, then g++ with `pkg-config --cflags --libs
                             stageflow` (no NDEBUG, no -O: on; -O2: off), and the plain line of
                             docs/using-stageflow.md with -O2 -DNDEBUG (off); no -lxxhash anywhere
  cmake-find-package         the same install, find_package(stageflow CONFIG) with the Ninja
                             Multi-Config generator: Release off, Debug on
  cmake-subdirectory         add_subdirectory(<source>): MinSizeRel off, Release with
                             -DSTAGEFLOW_HARDENING=on on

Everything happens under --work (emptied first). Each step has a time limit.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STEP_TIMEOUT = 300  # seconds; a configure or one compile takes a few


def run(cmd, cwd=None, env=None, capture=False):
    """Runs one step; its output is shown unless captured (then returned), and always on failure."""
    print('$ ' + ' '.join(cmd), flush=True)
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=cwd, env=env, timeout=STEP_TIMEOUT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if not capture or result.returncode != 0:
        print(result.stdout, end='')
    if result.returncode != 0:
        sys.exit(f'FAILED ({result.returncode}) after {time.monotonic() - started:.1f} s: {" ".join(cmd)}')
    print(f'  ({time.monotonic() - started:.1f} s)', flush=True)
    return result.stdout


def check_program(program, expect):
    """Runs the consumer, which checks itself; also insist its report says what we expect."""
    out = run([program, expect], capture=True)
    print(out, end='')
    if f'hardening: {expect}\n' not in out or 'consumer: OK' not in out:
        sys.exit(f'FAILED: {program} did not report hardening {expect}')
    print(f'OK: {program} sees hardening {expect}', flush=True)


def copy_project(work, kind_dir):
    project = os.path.join(work, 'project')
    os.makedirs(project)
    for name in os.listdir(os.path.join(HERE, kind_dir)):
        shutil.copy(os.path.join(HERE, kind_dir, name), project)
    shutil.copy(os.path.join(HERE, 'program', 'consumer.cpp'), project)
    return project


def install_prefix(source, work, env):
    """`meson install` of the library alone (what a package build does) into work/prefix."""
    prefix = os.path.join(work, 'prefix')
    build = os.path.join(work, 'stageflow-build')
    run(['meson', 'setup', build, source, '--prefix', prefix, '-Dtests=false', '-Dbenchmarks=false',
         '-Dexamples=false', '-Dtools=false'], env=env)
    run(['meson', 'install', '-C', build, '--quiet'], env=env)
    return prefix


def only(paths, what):
    if len(paths) != 1:
        sys.exit(f'FAILED: expected one {what}, found {paths}')
    return paths[0]


def with_installed_copy(env, prefix):
    """`env` in which pkg-config and CMake find the stageflow installed under `prefix`."""
    pc = only(glob.glob(os.path.join(prefix, '**', 'stageflow.pc'), recursive=True), 'stageflow.pc')
    return dict(env, PKG_CONFIG_PATH=os.path.dirname(pc), CMAKE_PREFIX_PATH=prefix)


def used_subproject(build):
    """Whether the Meson build in `build` took stageflow from subprojects/."""
    info = json.loads(run(['meson', 'introspect', '--projectinfo', build], capture=True))
    return any(s.get('name') == 'stageflow' for s in info.get('subprojects', []))


def meson_subproject(args, env, buildtype, expect):
    # An installed copy is present (as on a machine where someone ran `meson install`): the test
    # must not pick it up by accident, and the documented --force-fallback-for must avoid it.
    env = with_installed_copy(env, install_prefix(args.source, args.work, env))
    project = copy_project(args.work, 'meson_subproject')
    os.makedirs(os.path.join(project, 'subprojects'))
    os.symlink(args.source, os.path.join(project, 'subprojects', 'stageflow'))
    build = os.path.join(args.work, 'build')
    run(['meson', 'setup', build, project, f'--buildtype={buildtype}', '--force-fallback-for=stageflow'], env=env)
    if not used_subproject(build):
        sys.exit('FAILED: --force-fallback-for=stageflow did not take stageflow from subprojects/')
    # As a subproject, stageflow builds nothing of its own (tests, benchmarks, examples, tools).
    targets = json.loads(run(['meson', 'introspect', '--targets', build], capture=True))
    foreign = [t['name'] for t in targets if t.get('subproject')]
    if foreign:
        sys.exit(f'FAILED: the subproject builds targets of its own: {foreign[:5]}')
    # ... and looks up none of their dependencies (Catch2, Google Benchmark, nlohmann_json).
    with open(os.path.join(build, 'meson-logs', 'meson-log.txt'), encoding='utf-8', errors='replace') as log:
        looked_up = sorted(set(re.findall(r"[Dd]ependency '?(catch2[\w-]*|benchmark|nlohmann_json)\b", log.read())))
    if looked_up:
        sys.exit(f'FAILED: as a subproject, stageflow looked up {looked_up}')
    run(['ninja', '-C', build], env=env)
    check_program(os.path.join(build, 'consumer'), expect)


def meson_installed(args, env, buildtype, expect):
    """A Meson project that finds an installed stageflow.pc: the consumer's build type decides, as
    for the subproject (the .pc defines no hardening; the headers read the build's flags)."""
    env = with_installed_copy(env, install_prefix(args.source, args.work, env))
    project = copy_project(args.work, 'meson_subproject')   # no subprojects/: only the installed copy
    build = os.path.join(args.work, 'build')
    run(['meson', 'setup', build, project, f'--buildtype={buildtype}'], env=env)
    if used_subproject(build):
        sys.exit('FAILED: expected the installed stageflow, but a subproject was used')
    run(['ninja', '-C', build], env=env)
    check_program(os.path.join(build, 'consumer'), expect)


def pkg_config(args, env):
    prefix = install_prefix(args.source, args.work, env)
    pc = only(glob.glob(os.path.join(prefix, '**', 'stageflow.pc'), recursive=True), 'stageflow.pc')
    print(f'stageflow.pc installed at {os.path.relpath(pc, prefix)}')
    env = dict(env, PKG_CONFIG_PATH=os.path.dirname(pc))
    cflags = run(['pkg-config', '--cflags', 'stageflow'], env=env, capture=True).split()
    libs = run(['pkg-config', '--libs', 'stageflow'], env=env, capture=True).split()
    if '-lxxhash' in libs or '-lsimdjson' not in libs:
        sys.exit(f'FAILED: pkg-config --libs stageflow should have -lsimdjson and no -lxxhash: {libs}')
    source = os.path.join(HERE, 'program', 'consumer.cpp')
    with_pc = os.path.join(args.work, 'consumer-pkg-config')
    run(args.cxx + ['-std=c++20'] + cflags + [source, '-o', with_pc] + libs, env=env)
    check_program(with_pc, 'on')  # no NDEBUG, no STAGEFLOW_HARDENING, no -O: hardening on
    optimized = os.path.join(args.work, 'consumer-pkg-config-O2')
    run(args.cxx + ['-std=c++20', '-O2'] + cflags + [source, '-o', optimized] + libs, env=env)
    check_program(optimized, 'off')  # optimized, without NDEBUG (as Meson's release builds): off
    # The plain line of docs/using-stageflow.md, against the installed headers, as a release build.
    plain = os.path.join(args.work, 'consumer-plain')
    run(args.cxx + ['-std=c++20', '-O2', '-DNDEBUG', '-pthread', '-I' + os.path.join(prefix, 'include'),
                    source, '-o', plain, '-lsimdjson'], env=env)
    check_program(plain, 'off')


def cmake_find_package(args, env):
    prefix = install_prefix(args.source, args.work, env)
    config = only(glob.glob(os.path.join(prefix, '**', 'stageflowConfig.cmake'), recursive=True),
                  'stageflowConfig.cmake')
    print(f'stageflowConfig.cmake installed at {os.path.relpath(config, prefix)}')
    project = copy_project(args.work, 'cmake_find_package')
    build = os.path.join(args.work, 'build')
    run(['cmake', '-S', project, '-B', build, '-G', 'Ninja Multi-Config', '-DCMAKE_PREFIX_PATH=' + prefix,
         '-DCMAKE_CXX_COMPILER=' + args.cxx[-1]], env=env)
    for config_name, expect in [('Release', 'off'), ('Debug', 'on')]:
        run(['cmake', '--build', build, '--config', config_name], env=env)
        check_program(os.path.join(build, config_name, 'consumer'), expect)


def cmake_subdirectory(args, env):
    project = copy_project(args.work, 'cmake_subdirectory')
    for build_type, extra, expect in [('MinSizeRel', [], 'off'), ('Release', ['-DSTAGEFLOW_HARDENING=on'], 'on')]:
        build = os.path.join(args.work, 'build-' + build_type.lower())
        run(['cmake', '-S', project, '-B', build, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=' + build_type,
             '-DSTAGEFLOW_SOURCE_DIR=' + args.source, '-DCMAKE_CXX_COMPILER=' + args.cxx[-1]] + extra, env=env)
        run(['cmake', '--build', build], env=env)
        check_program(os.path.join(build, 'consumer'), expect)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('kind', choices=['meson-subproject-release', 'meson-subproject-debug',
                                         'meson-installed-release', 'meson-installed-debug', 'pkg-config',
                                         'cmake-find-package', 'cmake-subdirectory'])
    parser.add_argument('--source', required=True)
    parser.add_argument('--work', required=True)
    parser.add_argument('--cxx', nargs='+', default=[os.environ.get('CXX', 'c++')])
    args = parser.parse_args()
    args.source = os.path.abspath(args.source)
    args.work = os.path.abspath(args.work)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    env = dict(os.environ, CXX=' '.join(args.cxx))
    for name in list(env):  # the outer build's compiler flags are not the consumer's
        if name in ('CXXFLAGS', 'CPPFLAGS', 'LDFLAGS'):
            del env[name]
    needed = {'pkg-config': 'pkg-config', 'meson-installed-release': 'pkg-config', 'meson-installed-debug': 'pkg-config',
              'cmake-find-package': 'cmake', 'cmake-subdirectory': 'cmake'}.get(args.kind)
    if needed and shutil.which(needed) is None:
        print(f'SKIP: {needed} is not installed (scripts/install-deps installs it)')
        sys.exit(77)
    started = time.monotonic()
    if args.kind.startswith('meson-'):
        buildtype = args.kind.rsplit('-', 1)[1]
        consume = meson_subproject if args.kind.startswith('meson-subproject-') else meson_installed
        consume(args, env, buildtype, 'off' if buildtype == 'release' else 'on')
    elif args.kind == 'pkg-config':
        pkg_config(args, env)
    elif args.kind == 'cmake-find-package':
        cmake_find_package(args, env)
    else:
        cmake_subdirectory(args, env)
    print(f'{args.kind}: OK in {time.monotonic() - started:.1f} s')


if __name__ == '__main__':
    main()
