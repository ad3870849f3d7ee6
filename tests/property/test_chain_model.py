# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verified means untouched, as a property: random mutations of valid chains.

A chain of 1 to 4 bundles is written by the real export (each period with its own entries),
one mutation an attacker or an accident could make is applied to a copy, and the chain is
verified with the anchor (the newest manifest's SHA-256 kept elsewhere) and the period it must
cover. Every mutation is detected; every intact chain passes, with and without the anchor and
the period; the verifier never raises anything but its verdict; and chain.py, the offline
script and the audit_log_verify module give the same verdict on every case.

Renaming bundle directories (swapping two whole bundles) is not a mutation: bundles are ordered
by their windows, not their names, and nothing of the evidence changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import pathlib
import shutil
import tempfile

import pytest
from hypothesis import example, given, strategies as st

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import chain
from ansible_collections.nirvana_labs.audit.plugins.modules import audit_log_verify
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_bundle import (  # noqa: E501
    make_entries,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_chain import (  # noqa: E501
    SCRIPT,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_export import (  # noqa: E501
    FakeClient,
    export,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.modules.module_harness import (
    module_args,
)

PERIODS = (("2026-09-01", "2026-10-01"), ("2026-10-01", "2026-11-01"),
           ("2026-11-01", "2026-12-01"), ("2026-12-01", "2027-01-01"))
MUTATIONS = ("flip", "truncate", "delete", "add", "add_listed", "list_twice", "symlink",
             "swap_data", "rewrite_manifest", "drop_newest", "drop_oldest", "drop_middle",
             "sums_blank_name", "manifest_not_json")
_TEMPLATES = {}


def template(count):
    """A chain of ``count`` bundles, written once per run by the real export."""
    if count not in _TEMPLATES:
        base = pathlib.Path(tempfile.mkdtemp(prefix="chain-model-"))
        previous = None
        for index, (since, until) in enumerate(PERIODS[:count]):
            dest = base / since[:7]
            export(FakeClient(make_entries(3 + index, seed=index + 1)), dest, since=since,
                   until=until, previous=previous)
            previous = str(dest)
        _TEMPLATES[count] = base
        atexit.register(shutil.rmtree, str(base), True)
    return _TEMPLATES[count]


def load_script():
    spec = importlib.util.spec_from_file_location("verify_evidence_chain_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT_MODULE = load_script()


def bundles_of(base):
    return sorted(str(base / name) for name in os.listdir(str(base)))


def files_of(bundle):
    return sorted(name for name in os.listdir(bundle) if name != ".audit_log.lock")


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def refresh_sums(bundle):
    write(os.path.join(bundle, "SHA256SUMS"), "".join(
        "%s  %s\n" % (sha(read(os.path.join(bundle, name))), name)
        for name in files_of(bundle) if name != "SHA256SUMS").encode("ascii"))


def mutate(base, outside, kind, pick):
    """Apply one mutation to the chain under ``base``; ``pick`` (ints) chooses where."""
    bundles = bundles_of(base)
    bundle = bundles[pick[0] % len(bundles)]
    names = files_of(bundle)
    name = names[pick[1] % len(names)]
    path = os.path.join(bundle, name)
    if kind == "flip":
        data = bytearray(read(path) or b"\0")
        data[pick[2] % len(data)] ^= 1 + pick[3] % 255
        write(path, bytes(data))
    elif kind == "truncate":
        data = read(path)
        write(path, data[:pick[2] % len(data)] if data else b"x")
    elif kind == "delete":
        os.unlink(path)
    elif kind in ("add", "add_listed"):
        extra = "extra-%d.jsonl" % pick[2]
        write(os.path.join(bundle, extra), b'{"id": "forged"}\n')
        if kind == "add_listed":
            with open(os.path.join(bundle, "SHA256SUMS"), "ab") as handle:
                handle.write(("%s  %s\n" % (sha(b'{"id": "forged"}\n'), extra)).encode())
    elif kind == "list_twice":
        lines = read(os.path.join(bundle, "SHA256SUMS")).splitlines(True)
        with open(os.path.join(bundle, "SHA256SUMS"), "ab") as handle:
            handle.write(lines[pick[2] % len(lines)])
    elif kind == "symlink":
        copy = os.path.join(outside, "copy-%s" % name)
        shutil.copyfile(path, copy)
        os.unlink(path)
        os.symlink(copy, path)
    elif kind == "swap_data":
        other = bundles[(pick[0] + 1 + pick[2] % (len(bundles) - 1)) % len(bundles)]
        first = os.path.join(bundle, "audit_log.jsonl")
        second = os.path.join(other, "audit_log.jsonl")
        data = read(first)
        write(first, read(second))
        write(second, data)
    elif kind == "rewrite_manifest":
        manifest_path = os.path.join(bundle, "manifest.json")
        manifest = json.loads(read(manifest_path).decode("utf-8"))
        field = ("counts", "written") if pick[2] % 2 else ("run", "by")
        manifest[field[0]][field[1]] = "rewritten-%d" % pick[3]
        write(manifest_path, json.dumps(manifest).encode("utf-8"))
        refresh_sums(bundle)
    elif kind in ("drop_newest", "drop_oldest", "drop_middle"):
        victim = {"drop_newest": bundles[-1], "drop_oldest": bundles[0],
                  "drop_middle": bundles[len(bundles) // 2]}[kind]
        shutil.rmtree(victim)
    elif kind == "sums_blank_name":
        with open(os.path.join(bundle, "SHA256SUMS"), "ab") as handle:
            handle.write(b"%s  \n" % (b"0" * 64))
    elif kind == "manifest_not_json":
        write(os.path.join(bundle, "manifest.json"), b"[" * (pick[2] % 100000) + b"{")
        refresh_sums(bundle)


def applicable(kind, count):
    if kind == "swap_data" or kind.startswith("drop_"):
        return count >= (3 if kind == "drop_middle" else 2)
    return True


def by_chain(base, **bounds):
    return chain.verify_chain([str(base)], **bounds)


def by_script(base, **bounds):
    argv = [str(base), "--json"]
    for name, value in bounds.items():
        argv += ["--%s" % name, value]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = SCRIPT_MODULE.main(argv)
    return code, json.loads(out.getvalue())


def by_module(base, **bounds):
    args = dict(bounds, bundles=[str(base)], fail_on_broken=False)
    out = io.StringIO()
    with module_args(args), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit):
            audit_log_verify.main()
    return json.loads(out.getvalue())


RESULT_KEYS = ("ok", "bundles", "first_broken", "gaps", "overlaps", "missing_head",
               "missing_tail", "anchor", "requested", "covering", "valid", "total", "summary")


def verdict_everywhere(base, **bounds):
    """The verdict of chain.py, checked equal to the script's and the module's."""
    result = json.loads(json.dumps(by_chain(base, **bounds)))
    code, scripted = by_script(base, **bounds)
    assert scripted == result
    assert code == (0 if result["ok"] else 1)
    moduled = by_module(base, **bounds)
    assert dict((k, moduled[k]) for k in RESULT_KEYS) == dict((k, result[k]) for k in RESULT_KEYS)
    return result


def true_bounds(base):
    """What the auditor kept: the newest manifest's SHA-256 and the period exported."""
    bundles = bundles_of(base)
    oldest = json.loads(read(os.path.join(bundles[0], "manifest.json")).decode("utf-8"))
    newest = os.path.join(bundles[-1], "manifest.json")
    return {"anchor": sha(read(newest)), "since": oldest["window"]["since"],
            "until": json.loads(read(newest).decode("utf-8"))["window"]["until"]}


@contextlib.contextmanager
def copy_of(count):
    work = tempfile.mkdtemp(prefix="chain-case-")
    try:
        base = pathlib.Path(work) / "chain"
        shutil.copytree(str(template(count)), str(base), symlinks=True)
        outside = os.path.join(work, "outside")
        os.mkdir(outside)
        yield base, outside
    finally:
        shutil.rmtree(work, ignore_errors=True)


@given(count=st.integers(1, 4))
def test_every_intact_chain_passes_everywhere(count):
    with copy_of(count) as (base, _outside):
        bounds = true_bounds(base)
        assert verdict_everywhere(base)["ok"] is True
        result = verdict_everywhere(base, **bounds)
        assert result["ok"] is True and result["valid"] == result["total"] == count


@given(count=st.integers(1, 4), kind=st.sampled_from(MUTATIONS),
       pick=st.tuples(*[st.integers(0, 2 ** 16)] * 4))
@example(count=3, kind="add_listed", pick=(1, 0, 0, 0))      # the fabricated-file case
@example(count=3, kind="rewrite_manifest", pick=(2, 0, 1, 0))  # the newest, consistently
@example(count=2, kind="drop_newest", pick=(0, 0, 0, 0))
@example(count=2, kind="drop_oldest", pick=(0, 0, 0, 0))
@example(count=1, kind="manifest_not_json", pick=(0, 0, 99999, 0))
def test_every_mutation_is_detected_everywhere(count, kind, pick):
    if not applicable(kind, count):
        return
    with copy_of(count) as (base, outside):
        bounds = true_bounds(base)
        mutate(base, outside, kind, pick)
        result = verdict_everywhere(base, **bounds)
        assert result["ok"] is False, (kind, pick, result["summary"])
        assert result["first_broken"]["problem"], result
        expected = "%d of %d bundles valid" % (result["valid"], result["total"])
        assert result["summary"].startswith(expected)
