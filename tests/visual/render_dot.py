#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Renders to_dot's output with Graphviz (`dot -Tsvg`) and checks the SVG: it parses as XML, has
one node per stage with the stage's name as its text, and one edge per dependency.

  render_dot.py DOT_SAMPLE_PROGRAM WORK_DIR

Exits 77 (SKIP) with the reason when Graphviz is not installed.
"""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

SVG = '{http://www.w3.org/2000/svg}'
STAGES = ['normalize', 'enrich', 'route "intent"', 'reply']
EDGES = 4


def check(svg_path, run):
    root = ET.parse(svg_path).getroot()
    groups = [g for g in root.iter(SVG + 'g')]
    nodes = [g for g in groups if g.get('class') == 'node']
    edges = [g for g in groups if g.get('class') == 'edge']
    texts = [' '.join(t.text or '' for t in node.iter(SVG + 'text')) for node in nodes]
    problems = []
    if len(nodes) != len(STAGES):
        problems.append(f'{len(nodes)} nodes, expected {len(STAGES)}')
    for stage in STAGES:
        if not any(text.startswith(stage) for text in texts):
            problems.append(f'no node reads {stage!r} (nodes: {texts})')
    if len(edges) != EDGES:
        problems.append(f'{len(edges)} edges, expected {EDGES}')
    if run and not any('failed' in text for text in texts):
        problems.append(f'no node of the run says "failed" (nodes: {texts})')
    return problems


def main():
    program, work = sys.argv[1], sys.argv[2]
    dot = shutil.which('dot')
    if dot is None:
        print('SKIP: Graphviz is not installed (no `dot` on PATH; Debian: apt-get install graphviz)', file=sys.stderr)
        sys.exit(77)
    os.makedirs(work, exist_ok=True)
    pipeline_dot, run_dot = os.path.join(work, 'pipeline.dot'), os.path.join(work, 'run.dot')
    subprocess.run([program, pipeline_dot, run_dot], check=True, timeout=60)
    failures = 0
    for path, run in ((pipeline_dot, False), (run_dot, True)):
        svg = path[:-4] + '.svg'
        result = subprocess.run([dot, '-Tsvg', path, '-o', svg], capture_output=True, text=True, timeout=60)
        if result.returncode != 0 or result.stderr.strip():
            print(f'FAIL {path}: dot said ({result.returncode}): {result.stderr.strip()}')
            failures += 1
            continue
        problems = check(svg, run)
        for problem in problems:
            print(f'FAIL {svg}: {problem}')
        failures += bool(problems)
        if not problems:
            print(f'ok   {svg}: {len(STAGES)} stages, {EDGES} edges')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
