# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No file of the library grows past 400 lines of code (blank lines and comments aside,
docstrings counted): a concern that outgrows one file becomes a package with a file per part."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIBRARY = os.path.join(ROOT, "plugins", "module_utils")
LIMIT = 400


def code_lines(path):
    with open(path) as handle:
        return sum(1 for line in handle if line.strip() and not line.strip().startswith("#"))


def library_files():
    for folder, dummy, names in os.walk(LIBRARY):
        for name in names:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def test_no_library_file_holds_more_than_400_lines_of_code():
    sizes = dict((os.path.relpath(path, ROOT), code_lines(path)) for path in library_files())
    large = dict((path, size) for path, size in sizes.items() if size > LIMIT)
    assert not large, "split these by concern: %s" % large


def test_the_counter_counts_code_only(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(u"# comment\n\nx = 1\n    # indented comment\ny = 2\n")
    assert code_lines(str(sample)) == 2
