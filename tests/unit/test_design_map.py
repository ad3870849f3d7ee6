# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/DESIGN.md is the map of the code: every file of the collection's code is on it, and
every file it names exists."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAPPED = ("plugins", os.path.join("extensions", "eda", "plugins"), "tools")


def design_text():
    with open(os.path.join(ROOT, "docs", "DESIGN.md")) as handle:
        return handle.read()


def code_files():
    for top in MAPPED:
        for folder, dummy, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                if name.endswith(".py") and name != "__init__.py":
                    yield os.path.relpath(os.path.join(folder, name), ROOT)


def test_every_code_file_is_on_the_map():
    text = design_text()
    missing = sorted(path for path in code_files()
                     if not re.search(r"(?<![\w.])%s\b" % re.escape(os.path.basename(path)), text))
    assert not missing, "files docs/DESIGN.md does not mention: %s" % missing


def test_every_file_on_the_map_exists():
    names = set(os.path.basename(path) for path in code_files())
    for folder, dummy, files in os.walk(ROOT):
        if ".git" in folder or "/tests/output" in folder or "/.venv" in folder:
            continue
        names.update(files)
    mentioned = set(re.findall(r"(?<![\w/.-])([a-z_][a-z0-9_]*\.py)\b", design_text()))
    stale = sorted(mentioned - names)
    assert not stale, "docs/DESIGN.md names files that do not exist: %s" % stale
