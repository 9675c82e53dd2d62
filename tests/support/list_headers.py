#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Prints every public header under include/ (relative paths), one per line, sorted."""
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
for header in sorted(root.rglob('*.hpp')):
    print(header.relative_to(root).as_posix())
