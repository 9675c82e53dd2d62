#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Prints why each skipped test skipped, after `meson test`: Meson shows SKIP but keeps the reason
(the test's own SKIP line) in its log. Reads BUILDDIR/meson-logs/testlog.json.

  skip_reasons.py BUILDDIR
"""
import json
import os
import sys


def reason(output):
    lines = [l.strip() for l in (output or '').splitlines() if l.strip()]
    marked = [l for l in lines if 'SKIP' in l or 'skip' in l]
    return (marked or lines or ['(the test printed no reason)'])[-1]


def main():
    log = os.path.join(sys.argv[1], 'meson-logs', 'testlog.json')
    if not os.path.exists(log):
        return
    skipped = []
    with open(log, encoding='utf-8', errors='replace') as f:
        for line in f:
            test = json.loads(line)
            if test.get('result') == 'SKIP':
                skipped.append((test['name'], reason((test.get('stdout') or '') + '\n' + (test.get('stderr') or ''))))
    if skipped:
        print(f'\n{len(skipped)} test(s) skipped, and why:')
        for name, why in skipped:
            print(f'  {name}: {why}')


if __name__ == '__main__':
    main()
