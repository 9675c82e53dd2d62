#!/usr/bin/env python3
"""Compiles every ```cpp block of README.md, so the README cannot show code that does not build.

  check_snippets.py README.md INCLUDE_DIR COMPILER...

A block without a marker is a whole translation unit and is compiled as it stands. A block that is
deliberately partial says so with a `// fragment` comment; it is compiled inside harness.hpp, which
declares the placeholder names the README's fragments use (lowercase(), classify(), request,
snapshot, ...): its declarations (#include lines, structs, classes, aliases, using-directives)
stay at namespace scope, everything else becomes the body of one function. `// fragment,
continues the block above` also puts the previous block's code in front of it (a tutorial's next
step uses the names the last one made; whole blocks in between are passed over), each block's
statements in a scope nested in the previous one's, so a later block may reuse a name.

Each block is compiled with -std=c++20 -fsyntax-only; a failure shows the README line of the block,
the code as compiled and the compiler's first errors.
"""
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
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


def split(code, first_line):
    """(namespace-scope part, function-body part) of a fragment, each line led by a #line
    directive where the numbering jumps, so diagnostics name the README's own lines."""
    parts, state, depth, in_declaration = ([], []), {}, 0, False
    for number, line in enumerate(code.split('\n'), first_line):
        bare = strip_literals(line, state)
        if depth == 0 and not in_declaration and DECLARATION.match(line) and not line.lstrip().startswith('//'):
            in_declaration = True
        part = parts[0] if in_declaration else parts[1]
        if not part or part[-1][0] != number - 1:
            part.append((number, f'#line {number} "README.md"'))
        part.append((number, line))
        depth += bare.count('{') - bare.count('}')
        if in_declaration and depth == 0 and (bare.rstrip().endswith(';') or line.lstrip().startswith('#')
                                               or bare.rstrip().endswith('}') and DECLARATION.match(line)
                                               and line.lstrip().startswith('namespace')):
            in_declaration = False
    return tuple('\n'.join(text for _, text in part) for part in parts)


def translation_unit(index, all_blocks):
    """The source compiled for block `index`."""
    line, code = all_blocks[index]
    if not FRAGMENT.search(code):
        return code
    chain = [index]
    while CONTINUES.search(all_blocks[chain[0]][1]):
        previous = [i for i in range(chain[0]) if FRAGMENT.search(all_blocks[i][1])]
        if not previous:
            sys.exit(f'README.md:{line}: "continues the block above", but no fragment is above it')
        chain.insert(0, previous[-1])
    declarations, body = [], []
    for i in chain:  # each block's statements in a scope inside the last one's: its names stay visible
        d, b = split(all_blocks[i][1], all_blocks[i][0])
        declarations.append(d)
        body.append('{\n' + b)
    return ('#include "harness.hpp"\n' + '\n'.join(declarations) +
            '\n[[maybe_unused]] static void readme_fragment() {\n' + '\n'.join(body) + '\n' +
            '}' * len(chain) + '\n}\n')


def main():
    readme, include_dir, compiler = sys.argv[1], sys.argv[2], sys.argv[3:]
    all_blocks = blocks(readme)
    if not all_blocks:
        sys.exit(f'{readme}: no ```cpp block found')
    work = tempfile.mkdtemp(prefix='readme-snippets-')

    def compile_one(index):
        source = os.path.join(work, f'block_{all_blocks[index][0]}.cpp')
        text = translation_unit(index, all_blocks)
        with open(source, 'w', encoding='utf-8') as f:
            f.write(text)
        result = subprocess.run(compiler + ['-std=c++20', '-fsyntax-only', '-I' + include_dir, '-I' + HERE, source],
                                capture_output=True, text=True, timeout=300)
        return index, text, result

    failures = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for index, text, result in pool.map(compile_one, range(len(all_blocks))):
            line, code = all_blocks[index]
            kind = 'fragment' if FRAGMENT.search(code) else 'whole'
            if result.returncode == 0:
                print(f'ok   README.md:{line} ({kind})')
                continue
            failures += 1
            errors = [l for l in result.stderr.splitlines() if re.search(r'(fatal )?error:', l)]
            print(f'FAIL README.md:{line} ({kind}): {len(errors)} error(s)\n--- compiled as:\n{text}--- first errors:')
            print('\n'.join(result.stderr.splitlines()[:40]))
    print(f'{len(all_blocks) - failures} of {len(all_blocks)} README C++ blocks compile with {" ".join(compiler)}')
    if failures == 0:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
