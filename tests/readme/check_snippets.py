#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Compiles every ```cpp block of the README and of docs/, so they cannot show code that does not build.

  check_snippets.py INCLUDE_DIR COMPILER FILE.md|DIRECTORY...

A block without a marker is a whole translation unit and is compiled as it stands. A block that is
deliberately partial says so with a `// fragment` comment; it is compiled inside harness.hpp, which
declares the placeholder names the README's fragments use (lowercase(), classify(), request,
snapshot, ...): its declarations (#include lines, structs, classes, aliases, using-directives)
stay at namespace scope, everything else becomes the body of one function. `// fragment,
continues the block above` also puts the previous block's code in front of it (a tutorial's next
step uses the names the last one made; whole blocks in between are passed over), each block's
statements in a scope nested in the previous one's, so a later block may reuse a name.

Each block is compiled with -std=c++20 -fsyntax-only and warnings as errors (WARNINGS); a failure shows the file and line of the block,
the code as compiled and the compiler's first errors. Whole blocks are compiled one by one, as shown.
Fragments, which all start from harness.hpp, are compiled together, one translation unit for all of
them, each chain in a namespace of its own with its #include lines moved to the top: parsing the
harness once instead of once per fragment is what keeps the test well inside its timeout. If that
unit fails, each half of it is compiled the same way, down to single fragments, so the report
names each failing block. A
fragment that specializes a template of ours (`template <>`) cannot sit in a namespace and is
compiled alone from the start.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
# What a user's -Werror build sees (Meson's warning_level=3): a block that warns fails. Fragments
# declare names they never use and name members to show them (`metrics.delta_bytes;`): unused
# variables and values are allowed.
WARNINGS = ['-Wall', '-Wextra', '-Wpedantic', '-Werror', '-Wno-unused-variable', '-Wno-unused-but-set-variable',
            '-Wno-unused-local-typedefs', '-Wno-unused-value']
FRAGMENT = re.compile(r'//\s*fragment\b')
CONTINUES = re.compile(r'//\s*fragment\b.*\bcontinues\b')
DECLARATION = re.compile(r'^\s*(#|struct\b|class\b|union\b|enum\b|template\b|typedef\b|using\s+namespace\b|'
                         r'using\s+\w+\s*=|namespace\s+\w+\s*(=|\{)|namespace\s*\{)')


def blocks(readme):
    """(first line number, code) of every ```cpp block."""
    found, lines, start, code = [], open(readme, encoding='utf-8').read().split('\n'), None, []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if start is None and re.fullmatch(r'```\s*(cpp|c\+\+)\s*', stripped):
            start, code = number + 1, []
        elif start is not None and stripped == '```':
            found.append((start, '\n'.join(code) + '\n'))
            start = None
        elif start is not None:
            code.append(line)
    if start is not None:
        sys.exit(f'{readme}:{start - 1}: unterminated ```cpp block')
    return found


def strip_literals(line, state):
    """The line without comments and string/char literals (for counting braces). `state` carries
    an open block comment or raw string into the next line."""
    out, i = [], 0
    while i < len(line):
        if state.get('raw') is not None:
            end = line.find(state['raw'], i)
            if end < 0:
                return ''.join(out)
            i, state['raw'] = end + len(state['raw']), None
        elif state.get('comment'):
            end = line.find('*/', i)
            if end < 0:
                return ''.join(out)
            i, state['comment'] = end + 2, False
        elif line.startswith('//', i):
            break
        elif line.startswith('/*', i):
            state['comment'], i = True, i + 2
        elif (m := re.match(r'(u8|u|U|L)?R"([^(\s]*)\(', line[i:])):
            state['raw'], i = ')' + m.group(2) + '"', i + m.end()
        elif line[i] in '"\'':
            quote, i = line[i], i + 1
            while i < len(line) and line[i] != quote:
                i += 2 if line[i] == '\\' else 1
            i += 1
        else:
            out.append(line[i])
            i += 1
    return ''.join(out)


def split(code, first_line, name):
    """(namespace-scope part, function-body part) of a fragment, each line led by a #line
    directive where the numbering jumps, so diagnostics name the file's own lines."""
    parts, state, depth, in_declaration = ([], []), {}, 0, False
    for number, line in enumerate(code.split('\n'), first_line):
        bare = strip_literals(line, state)
        if depth == 0 and not in_declaration and DECLARATION.match(line) and not line.lstrip().startswith('//'):
            in_declaration = True
        part = parts[0] if in_declaration else parts[1]
        if not part or part[-1][0] != number - 1:
            part.append((number, f'#line {number} "{name}"'))
        part.append((number, line))
        depth += bare.count('{') - bare.count('}')
        if in_declaration and depth == 0 and (bare.rstrip().endswith(';') or line.lstrip().startswith('#')
                                               or bare.rstrip().endswith('}') and DECLARATION.match(line)
                                               and line.lstrip().startswith('namespace')):
            in_declaration = False
    return tuple('\n'.join(text for _, text in part) for part in parts)


def chain_of(index, all_blocks, name):
    """The fragments compiled for fragment `index`: those it continues, then itself."""
    chain = [index]
    while CONTINUES.search(all_blocks[chain[0]][1]):
        previous = [i for i in range(chain[0]) if FRAGMENT.search(all_blocks[i][1])]
        if not previous:
            sys.exit(f'{name}:{all_blocks[index][0]}: "continues the block above", but no fragment is above it')
        chain.insert(0, previous[-1])
    return chain


def fragment_parts(index, all_blocks, name):
    """(#include lines, other declarations, function body) of fragment `index` with its chain:
    each block's statements in a scope inside the last one's, so its names stay visible."""
    chain = chain_of(index, all_blocks, name)
    includes, declarations, body = [], [], []
    for i in chain:
        d, b = split(all_blocks[i][1], all_blocks[i][0], name)
        kept = []
        for line in d.split('\n'):
            (includes if re.match(r'\s*#\s*include\b', line) else kept).append(line)
        declarations.append('\n'.join(kept))
        body.append('{\n' + b)
    function = ('[[maybe_unused]] static void readme_fragment() {\n' + '\n'.join(body) + '\n' +
                '}' * len(chain) + '\n}\n')
    return includes, '\n'.join(declarations), function


def alone(job):
    """The translation unit of one block, compiled by itself."""
    name, index, all_blocks = job
    code = all_blocks[index][1]
    if not FRAGMENT.search(code):
        return code
    includes, declarations, function = fragment_parts(index, all_blocks, name)
    return '#include "harness.hpp"\n' + '\n'.join(includes) + '\n' + declarations + '\n' + function


def together(jobs):
    """One translation unit for several fragments, each in a namespace of its own."""
    head, parts = ['#include "harness.hpp"'], []
    for number, (name, index, all_blocks) in enumerate(jobs):
        includes, declarations, function = fragment_parts(index, all_blocks, name)
        head += includes
        parts.append(f'namespace readme_block_{number} {{\n{declarations}\n{function}}}\n')
    return '\n'.join(head) + '\n' + ''.join(parts)


def main():
    include_dir, compiler, files = sys.argv[1], sys.argv[2], []
    for argument in sys.argv[3:]:   # a directory stands for its *.md files: a new page is checked too
        files += (sorted(glob.glob(os.path.join(argument, '*.md'))) if os.path.isdir(argument) else [argument])
    root = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files])
    jobs = []   # (display name, block index, that file's blocks)
    for path in files:
        name = os.path.relpath(os.path.abspath(path), root)
        found = blocks(path)
        jobs += [(name, i, found) for i in range(len(found))]
    if not jobs:
        sys.exit('no ```cpp block found in ' + ' '.join(files))
    work = tempfile.mkdtemp(prefix='readme-snippets-')

    def compile_source(label, text):
        source = os.path.join(work, re.sub(r'[^A-Za-z0-9_.]', '_', label) + '.cpp')
        with open(source, 'w', encoding='utf-8') as f:
            f.write(text)
        return subprocess.run([compiler, '-std=c++20', '-fsyntax-only'] + WARNINGS +
                              ['-I' + include_dir, '-isystem', HERE, source],
                              capture_output=True, text=True, timeout=300)

    def label(job):
        name, index, all_blocks = job
        return f'{name}:{all_blocks[index][0]}'

    def kind(job):
        return 'fragment' if FRAGMENT.search(job[2][job[1]][1]) else 'whole'

    grouped = [j for j in jobs if kind(j) == 'fragment' and not re.search(r'template\s*<\s*>', j[2][j[1]][1])]
    single = [j for j in jobs if j not in grouped]
    results = {}   # label -> (text, CompletedProcess)

    def run_single(job):
        text = alone(job)
        return job, text, compile_source(label(job), text)

    def run_group(group):
        """Compiles the fragments of `group` together; if that fails, each half the same way, down
        to single fragments, so a failure costs a few more units, not one per fragment."""
        if len(group) == 1:
            job, text, result = run_single(group[0])
            results[label(job)] = (job, text, result)
            return
        text = together(group)
        result = compile_source(f'fragments_{label(group[0])}_{len(group)}', text)
        if result.returncode == 0:
            for job in group:
                results[label(job)] = (job, text, result)
            return
        halves = [group[:len(group) // 2], group[len(group) // 2:]]
        with ThreadPoolExecutor(max_workers=2) as halves_pool:
            list(halves_pool.map(run_group, halves))

    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = [pool.submit(run_single, j) for j in single]
        group_future = pool.submit(run_group, grouped) if grouped else None
        for future in pending:
            job, text, result = future.result()
            results[label(job)] = (job, text, result)
        if group_future is not None:
            group_future.result()

    failures = 0
    for job in jobs:
        job, text, result = results[label(job)]
        if result.returncode == 0:
            print(f'ok   {label(job)} ({kind(job)})')
            continue
        failures += 1
        errors = [l for l in result.stderr.splitlines() if re.search(r'(fatal )?error:', l)]
        print(f'FAIL {label(job)} ({kind(job)}): {len(errors)} error(s)\n--- compiled as:\n{text}--- first errors:')
        print('\n'.join(result.stderr.splitlines()[:40]))
    print(f'{len(jobs) - failures} of {len(jobs)} C++ blocks in {len(files)} file(s) compile with {compiler} '
          f'({len(single)} alone, {len(grouped)} fragments in one unit)')
    if failures == 0:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
