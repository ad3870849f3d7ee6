# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""canonical_json builds its C encoder once; its text must stay what json.dumps with the
canonical options writes (sorted keys at every depth, compact separators, no ASCII escaping),
for any JSON value, since bundles written before must verify the same."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from hypothesis import example, given, settings, strategies as st

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import canonical

_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 80, 2 ** 80),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
_JSON = st.recursive(_SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=12)


def _reference(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=300)
@given(value=_JSON)
@example(value={"b": [1.5, -0.0, 1e300], "a": {"z": "é\u2028\U0001f600\"\\\n", "y": None}})
def test_canonical_json_writes_what_json_dumps_writes(value):
    assert canonical.canonical_json(value) == _reference(value)
    if isinstance(value, dict):
        assert canonical.canonical_line(value) == (_reference(value) + "\n").encode("utf-8")
