# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The import rules of docs/DESIGN.md, executed.

The layers are read from the ``layers`` block of docs/DESIGN.md, so the map and this test
cannot disagree: every Python file of the collection belongs to exactly one layer, imports
only from its own layer or the layers below it, and the import graph has no cycle (an arrow
that runs back up inside a layer is a cycle too, or becomes one the day the other arrow is
drawn).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PREFIX = "ansible_collections.nirvana_labs.audit."
SOURCES = ("plugins", os.path.join("extensions", "eda", "plugins"))


def read_layers():
    """[(layer, [path prefix, ...])] from the ```layers block, highest layer first."""
    with open(os.path.join(ROOT, "docs", "DESIGN.md")) as handle:
        text = handle.read()
    match = re.search(r"^```layers\n(.*?)^```", text, re.S | re.M)
    assert match, "docs/DESIGN.md has no ```layers block"
    layers = []
    for line in match.group(1).splitlines():
        line = line.split("#", 1)[0].split()
        if line:
            layers.append((line[0], line[1:]))
    return layers


def python_files():
    for top in SOURCES:
        for folder, dummy, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                if name.endswith(".py") and "doc_fragments" not in folder:
                    yield os.path.relpath(os.path.join(folder, name), ROOT)


def layer_of(path, layers):
    """(rank, layer) of the longest matching prefix, rank 0 the lowest layer; (None, None)
    for a file no layer claims."""
    best = None
    for index, (name, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), len(layers) - 1 - index, name)
    return best[1:] if best else (None, None)


def imported_paths(path):
    """Collection files that ``path`` imports, as paths relative to the repository."""
    with open(os.path.join(ROOT, path)) as handle:
        tree = ast.parse(handle.read(), path)
    found = set()
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + ["%s.%s" % (node.module, a.name) for a in node.names]
        for module in modules:
            if not module.startswith(PREFIX):
                continue
            base = os.path.join(*module[len(PREFIX):].split("."))
            for candidate in (base + ".py", os.path.join(base, "__init__.py")):
                if os.path.exists(os.path.join(ROOT, candidate)):
                    found.add(candidate)
    found.discard(path)
    return found


def graph():
    return dict((path, imported_paths(path)) for path in python_files())


def test_every_file_has_a_layer():
    layers = read_layers()
    missing = sorted(p for p in python_files() if layer_of(p, layers)[0] is None)
    assert not missing, "files without a layer in docs/DESIGN.md: %s" % missing


def test_every_import_runs_down_or_across():
    layers = read_layers()
    back = []
    for path, targets in sorted(graph().items()):
        rank, name = layer_of(path, layers)
        for target in sorted(targets):
            target_rank, target_name = layer_of(target, layers)
            if target_rank > rank:
                back.append("%s (%s) imports %s (%s)" % (path, name, target, target_name))
    assert not back, "imports that run back up:\n" + "\n".join(back)


def test_the_import_graph_has_no_cycle():
    edges = graph()
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                cycle = trail[trail.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def test_a_back_arrow_is_caught(tmp_path):
    """The checker itself: an import from a lower layer to a higher one is reported."""
    layers = [("top", ["plugins/modules/"]), ("bottom", ["plugins/module_utils/errors.py"])]
    assert layer_of("plugins/module_utils/errors.py", layers)[0] < \
        layer_of("plugins/modules/audit_log_info.py", layers)[0]
