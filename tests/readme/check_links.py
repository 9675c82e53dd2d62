#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Checks the relative links of the README and of docs/: every linked file exists, and every
#anchor names a heading of its page (GitHub's rule: lower case, punctuation dropped, spaces as
hyphens). A page moved or a heading renamed then fails here, not in a reader's browser. A docs/
page may not link to its own headings (`(#anchor)`): the Doxygen reference cannot resolve those.

  check_links.py ROOT FILE.md|DIRECTORY...
"""
import glob
import os
import re
import sys

LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')


def anchors(path):
    found, fence = set(), False
    for line in open(path, encoding='utf-8'):
        if line.startswith('```'):
            fence = not fence
        elif not fence and (m := re.match(r'#+\s+(.*)', line)):
            found.add(re.sub(r'[^\w\- ]', '', m.group(1).strip().lower()).replace(' ', '-'))
    return found


def main():
    root, files = sys.argv[1], []
    for argument in sys.argv[2:]:
        files += sorted(glob.glob(os.path.join(argument, '*.md'))) if os.path.isdir(argument) else [argument]
    problems = checked = 0
    for path in files:
        fence = False
        for number, line in enumerate(open(path, encoding='utf-8'), 1):
            if line.startswith('```'):
                fence = not fence
            if fence:
                continue
            for target in LINK.findall(line):
                if re.match(r'[a-z]+:', target):   # https:, mailto: : not ours to check
                    continue
                checked += 1
                file, _, anchor = target.partition('#')
                linked = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
                where = f'{os.path.relpath(path, root)}:{number}'
                if not os.path.exists(linked):
                    print(f'{where}: link to a missing file: {target}')
                    problems += 1
                elif not file and os.path.abspath(path).startswith(os.path.join(os.path.abspath(root), 'docs') + os.sep):
                    # Doxygen (scripts/docs) cannot resolve a link to a heading of the same page.
                    print(f'{where}: a link within its own page ({target}): Doxygen cannot resolve it; '
                          'name the section in words')
                    problems += 1
                elif anchor and linked.endswith('.md') and anchor not in anchors(linked):
                    print(f'{where}: no heading for #{anchor} in {os.path.relpath(linked, root)}')
                    problems += 1
    print(f'{checked} relative links in {len(files)} files, {problems} broken')
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
