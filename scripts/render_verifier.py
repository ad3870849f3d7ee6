# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make tools/verify_evidence_chain.py one file that runs anywhere: inline the collection's
verification code into it.

    python3 scripts/render_verifier.py [--check]

The script's command line is written by hand in tools/verify_evidence_chain.py. Between its
markers ``# --- BEGIN INLINED MODULES`` and ``# --- END INLINED MODULES ---`` this generator
writes the source of plugins/module_utils/evidence/chain.py, plugins/module_utils/timeutil.py
and every module of the collection they import (found by reading their imports, so a module
chain.py starts to import is inlined without editing this file), whole, each run as a module
of its own when the script needs it. An auditor copies the one file; the collection keeps one
implementation; tests/unit/test_render_verifier.py fails when the file is not current.

The inlined modules must use the Python standard library only: anything else is an error here,
not a traceback on the auditor's machine. ``--check`` writes nothing and exits 1 when the
file is not current.
"""

from __future__ import absolute_import, division, print_function

import ast
import os
import sys

__metaclass__ = type

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
SCRIPT = os.path.join(ROOT, "tools", "verify_evidence_chain.py")
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
PACKAGE = "ansible_collections.nirvana_labs.audit.plugins.module_utils"
# What the script's command line uses; everything they import comes along.
ROOTS = ("evidence.chain", "timeutil")
BEGIN = "# --- BEGIN INLINED MODULES"
END = "# --- END INLINED MODULES ---"
# A line of an inlined source is written as string literals of at most this many characters
# (quotes and escapes included), so the script keeps to the line length its checks allow.
PIECE = 88

STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"__future__"}

LOADER = '''
_PACKAGE = "ansible_collections.nirvana_labs.audit.plugins.module_utils"
_MODULES = {}
_REAL_IMPORT = builtins.__import__


class _Package(object):
    """A package of the collection as ``from <package> import <module>`` sees it."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attribute):
        name = (self._name + "." if self._name else "") + attribute
        if name not in _SOURCES:
            raise AttributeError(attribute)
        return _inlined(name)


def _import(name, globals_=None, locals_=None, fromlist=(), level=0):
    """The inlined modules for the collection's names, Python's import for the rest."""
    if level == 0 and (name == _PACKAGE or name.startswith(_PACKAGE + ".")):
        inner = name[len(_PACKAGE) + 1:]
        if inner in _SOURCES:
            return _inlined(inner)
        if fromlist:
            return _Package(inner)
        raise ImportError("%s is not inlined in this script" % name)
    return _REAL_IMPORT(name, globals_, locals_, fromlist, level)


_BUILTINS = dict(vars(builtins), __import__=_import)


def _inlined(name):
    """The inlined module ``name`` (dotted, below plugins/module_utils), run once."""
    module = _MODULES.get(name)
    if module is None:
        module = types.ModuleType("nirvana_audit_inlined_" + name.replace(".", "_"))
        module.__file__ = os.path.abspath(__file__)
        module.__dict__["__builtins__"] = _BUILTINS
        _MODULES[name] = module
        code = compile("".join(_SOURCES[name]),
                       "plugins/module_utils/%s.py (inlined)" % name.replace(".", "/"), "exec")
        exec(code, module.__dict__)  # pylint: disable=exec-used
    return module
'''


def module_path(name):
    return os.path.join(MODULE_UTILS, *name.split(".")) + ".py"


def _collection_imports(name, tree):
    """Names (dotted below module_utils) of the collection's modules ``tree`` imports."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [(node.module, [alias.name for alias in node.names])]
        elif isinstance(node, ast.Import):
            targets = [(alias.name, []) for alias in node.names]
        else:
            continue
        for module, names in targets:
            if module == PACKAGE or module.startswith(PACKAGE + "."):
                inner = module[len(PACKAGE) + 1:]
                if os.path.isfile(module_path(inner)):
                    found.append(inner)
                else:
                    found.extend((inner + "." if inner else "") + item for item in names)
            elif module.split(".")[0] not in STDLIB:
                raise SystemExit("render_verifier: %s imports %s, which is not in the Python"
                                 " standard library; the offline verifier cannot carry it"
                                 % (module_path(name), module))
    return found


def sources():
    """``{name: source}`` of the roots and every collection module they import."""
    if not STDLIB - {"__future__"}:
        raise SystemExit("render_verifier: needs Python 3.10+ (sys.stdlib_module_names)")
    result, todo = {}, list(ROOTS)
    while todo:
        name = todo.pop()
        if name in result:
            continue
        path = module_path(name)
        if not os.path.isfile(path):
            raise SystemExit("render_verifier: %s is imported but %s does not exist"
                             % (name, path))
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        result[name] = text
        todo.extend(_collection_imports(name, ast.parse(text, path)))
    return result


def _pieces(line):
    """``line`` cut so that each piece's literal (escapes included) fits in PIECE."""
    piece = ""
    for char in line:
        if piece and len(repr(piece + char)) > PIECE:
            yield piece
            piece = ""
        piece += char
    yield piece


def region(found):
    """The generated text between (and including) the markers."""
    out = [BEGIN + ": written by scripts/render_verifier.py from"]
    out.extend("#   plugins/module_utils/%s.py" % name.replace(".", "/") for name in sorted(found))
    out.extend(["# Do not edit between these markers: change those files and run",
                "# `python3 scripts/render_verifier.py`. ---",
                "_SOURCES = {"])
    for name in sorted(found):
        out.append("    %r: (" % name)
        for line in found[name].splitlines(True):
            out.extend("        %r" % piece for piece in _pieces(line))
        out.append("    ),")
    out.append("}")
    out.extend(LOADER.rstrip("\n").split("\n"))
    out.append(END)
    return "\n".join(out) + "\n"


def render(current):
    """``current`` (the script's text) with the region between its markers regenerated."""
    start = current.find(BEGIN)
    stop = current.find(END)
    if start < 0 or stop < start or current.count(BEGIN) != 1:
        raise SystemExit("render_verifier: %s needs exactly one pair of lines starting with"
                         " %r and %r where the inlined modules go" % (SCRIPT, BEGIN, END))
    stop = current.index("\n", stop) + 1
    return current[:start] + region(sources()) + current[stop:]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    with open(SCRIPT, encoding="utf-8") as handle:
        current = handle.read()
    wanted = render(current)
    if "--check" in argv:
        if wanted != current:
            sys.stderr.write("%s is not current: run python3 scripts/render_verifier.py\n"
                             % SCRIPT)
            return 1
        return 0
    if wanted != current:
        with open(SCRIPT, "w", encoding="utf-8") as handle:
            handle.write(wanted)
        print("wrote %s" % SCRIPT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
