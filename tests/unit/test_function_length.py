# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No function in plugins/ is longer than MAX_LINES without a reason for it.

A longer function is split, or says why it is not in a ``# long: <reason>`` comment on its
``def`` line or the line right above it. Length runs from the ``def`` line to the last line
of the body, docstring included.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

MAX_LINES = 60
REASON_MARK = "# long:"
PLUGINS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "plugins")


def long_functions(source, max_lines=MAX_LINES):
    """``(name, first line, length)`` of every function in ``source`` over ``max_lines``
    lines (def line to last line) with no reason comment."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = node.end_lineno - node.lineno + 1
        if length <= max_lines:
            continue
        nearby = lines[max(node.lineno - 2, 0):node.lineno]  # the line above and the def line
        if not any(REASON_MARK in line for line in nearby):
            found.append((node.name, node.lineno, length))
    return found


def plugin_files():
    for folder, _dirs, files in os.walk(PLUGINS):
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def test_the_plugins_are_found():
    assert any(path.endswith(os.path.join("module_utils", "client.py"))
               for path in plugin_files())


def test_no_function_in_plugins_is_long_without_a_reason():
    offenders = []
    for path in plugin_files():
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        for name, line, length in long_functions(source):
            where = os.path.relpath(path, PLUGINS)
            offenders.append("%s:%d %s() is %d lines" % (where, line, name, length))
    assert offenders == [], "split them, or give a '%s' reason on or above the def" % REASON_MARK


def _function(lines, comment_above="", comment_on_def=""):
    body = "\n".join("    x = %d" % index for index in range(lines - 1))
    return "%sdef f():%s\n%s\n" % (comment_above and comment_above + "\n", comment_on_def, body)


def test_the_check_counts_from_def_to_last_line():
    assert long_functions(_function(MAX_LINES)) == []
    assert long_functions(_function(MAX_LINES + 1)) == [("f", 1, MAX_LINES + 1)]


def test_a_reason_on_or_above_the_def_line_is_accepted():
    assert long_functions(_function(80, comment_on_def="  # long: one table")) == []
    assert long_functions(_function(80, comment_above="# long: one table")) == []
    assert long_functions(_function(80, comment_above="# just long")) == [("f", 2, 80)]


def test_nested_functions_are_checked_too():
    source = "def outer():\n" + "\n".join(
        "    " + line for line in _function(MAX_LINES + 5).splitlines()) + "\n    return f\n"
    assert [name for name, _line, _length in long_functions(source)] == ["outer", "f"]
