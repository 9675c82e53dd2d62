#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Checks that the includes of include/stageflow follow the floor plan (docs/contributing.md, "How the code is laid out").

Floors, lowest first; a header may include its own folder (feature) and anything on a lower floor:

  0  config.hpp, version.hpp, detail/          what several features share
  1  json/, uuid/, memory/                     foundations, independent of each other
  2  core/                                     the pipeline model
  3  serialization/, compression/, runner/, sinks/, observability/, visual/, fleet/
  4  helpers/, pipeline/, tools/, compression.hpp, stageflow.hpp   the seed's addresses: faces and facades;
     hardening/                                 the hardening policies, faced by pipeline/
     store/                                    snapshot stores (over compression and serialization)
     resilience/                               retries, hedging, circuit breakers (the runner reads a stage's
                                               `retry`/`hedge` members, never these headers)

Features on one floor do not include each other, except for the edges in SIBLING_EDGES; on the top
floor they may (a facade is built from the others). A feature's detail/ belongs to the feature: the
rule for the feature is the rule for its detail/.

  check_layers.py INCLUDE_DIR     checks include/stageflow under INCLUDE_DIR; exit 1 on a violation
  check_layers.py --self-test     proves that the checker finds each kind of violation
"""
import pathlib
import re
import sys
import tempfile

FLOORS = {
    'config.hpp': 0, 'version.hpp': 0, 'detail': 0,
    'json': 1, 'uuid': 1, 'memory': 1,
    'core': 2,
    'serialization': 3, 'compression': 3, 'runner': 3, 'sinks': 3, 'observability': 3, 'visual': 3, 'fleet': 3,
    'helpers': 4, 'pipeline': 4, 'hardening': 4, 'tools': 4, 'compression.hpp': 4, 'stageflow.hpp': 4,
    'store': 4, 'resilience': 4,
}
TOP_FLOOR = 4
# Same-floor includes that are part of the design: compress(T) diffs reflected values' canonical JSON.
SIBLING_EDGES = {('compression', 'serialization')}

INCLUDE = re.compile(r'^\s*#\s*include\s*<stageflow/([^>]+)>', re.MULTILINE)


def feature_of(relative):
    """'uuid/detail/window.hpp' -> 'uuid'; 'compression.hpp' -> 'compression.hpp'."""
    return relative.split('/', 1)[0]


def violations(root):
    """Each include that breaks the floor plan, as a sentence. `root` is the include/stageflow folder."""
    found = []
    headers = sorted(p for p in root.rglob('*.hpp'))
    known = {p.relative_to(root).as_posix() for p in headers}
    for header in headers:
        source = header.relative_to(root).as_posix()
        source_feature = feature_of(source)
        if source_feature not in FLOORS:
            found.append(f'{source}: the folder {source_feature!r} has no floor (add it to the plan)')
            continue
        for target in INCLUDE.findall(header.read_text(encoding='utf-8')):
            target_feature = feature_of(target)
            where = f'{source} includes <stageflow/{target}>'
            if target not in known:
                found.append(f'{where}, which does not exist')
                continue
            if target_feature not in FLOORS:
                continue  # reported once, for the target itself
            source_floor, target_floor = FLOORS[source_feature], FLOORS[target_feature]
            if target_floor > source_floor:
                found.append(f'{where}: {target_feature} (floor {target_floor}) is above {source_feature} '
                             f'(floor {source_floor})')
            elif (target_floor == source_floor and target_feature != source_feature and
                  source_floor not in (0, TOP_FLOOR) and (source_feature, target_feature) not in SIBLING_EDGES):
                found.append(f'{where}: {source_feature} and {target_feature} share floor {source_floor} '
                             f'and may not include each other')
    return found


def self_test():
    """Builds small trees with one violation each and checks that each is reported."""
    cases = {
        'upward (core includes runner)': {'core/a.hpp': '#include <stageflow/runner/b.hpp>', 'runner/b.hpp': ''},
        'upward from a feature detail/': {'json/detail/a.hpp': '#include <stageflow/core/b.hpp>', 'core/b.hpp': ''},
        'shared detail/ includes a feature': {'detail/a.hpp': '#include <stageflow/uuid/b.hpp>', 'uuid/b.hpp': ''},
        'siblings (uuid includes memory)': {'uuid/a.hpp': '#include <stageflow/memory/b.hpp>', 'memory/b.hpp': ''},
        'siblings (runner includes sinks/detail)': {'runner/a.hpp': '#include <stageflow/sinks/detail/b.hpp>',
                                                    'sinks/detail/b.hpp': ''},
        'a missing header': {'core/a.hpp': '#include <stageflow/core/missing.hpp>'},
        'a folder without a floor': {'extras/a.hpp': ''},
    }
    allowed = {
        'a face includes a role folder': {'helpers/a.hpp': '#include <stageflow/uuid/b.hpp>', 'uuid/b.hpp': ''},
        'a feature includes its detail/': {'json/a.hpp': '#include <stageflow/json/detail/b.hpp>',
                                          'json/detail/b.hpp': '#include <stageflow/detail/c.hpp>',
                                          'detail/c.hpp': ''},
        'the declared sibling edge': {'compression/a.hpp': '#include <stageflow/serialization/b.hpp>',
                                      'serialization/b.hpp': ''},
    }
    failures = 0
    for expect_violation, table in ((True, cases), (False, allowed)):
        for name, files in table.items():
            with tempfile.TemporaryDirectory() as directory:
                root = pathlib.Path(directory)
                for path, text in files.items():
                    (root / path).parent.mkdir(parents=True, exist_ok=True)
                    (root / path).write_text(text + '\n', encoding='utf-8')
                found = violations(root)
            if bool(found) != expect_violation:
                failures += 1
                print(f'self-test FAILED: {name}: ' + ('no violation reported' if expect_violation else
                                                         'reported ' + '; '.join(found)))
            else:
                print(f'self-test ok: {name}' + (f' -> {found[0]}' if found else ''))
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ['--self-test']:
        return self_test()
    if len(argv) != 2:
        print(__doc__)
        return 2
    root = pathlib.Path(argv[1]) / 'stageflow'
    found = violations(root)
    for line in found:
        print(line)
    headers = len(list(root.rglob('*.hpp')))
    print(f'{len(found)} layering violations in {headers} headers' if found else
          f'{headers} headers follow the floor plan')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
