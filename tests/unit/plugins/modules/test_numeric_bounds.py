# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every numeric option of the modules refuses 0 and negative values with a message naming the
option, before any client exists (``page_size: 0`` used to be read silently as 100). Only
``max_retries`` takes 0: it is documented to mean no retries."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import (
    clear_connection_env,
    patch_client,
    run_module,
)
from ansible_collections.nirvana_labs.audit.plugins.modules import (
    audit_log_export,
    audit_log_info,
    audit_log_report,
)

API_KEY = "nl-unit-secret-8c1f2e9a77"
# The option, and what it must be, as the message says it.
API_NUMBERS = [
    ("timeout", "must be more than 0 and at most 3600 seconds"),
    ("max_body_bytes", "must be a whole number of at least 1024"),
    ("page_size", "must be a whole number from 10 to 100"),
    ("max_results", "must be a whole number of at least 1"),
    ("parallelism", "must be a whole number from 1 to 16"),
    ("max_pages", "must be a whole number of at least 1"),
    ("scan_timeout", "must be a number above 0"),
]
# Every (option, what it must be, value refused): 0 and -1, but max_retries refuses only -1.
REFUSED = [(name, must, value) for name, must in API_NUMBERS for value in (0, -1)] + [
    ("max_retries", "must be a whole number from 0 to 10", -1)]


def api_args(module, tmp_path):
    args = {"api_key": API_KEY, "base_url": "http://127.0.0.1:9", "since": "2026-11-01",
            "until": "2026-11-02"}
    if module is audit_log_export:
        args["dest"] = str(tmp_path / "bundle")
    return args


@pytest.fixture
def run(capsys, monkeypatch):
    clear_connection_env(monkeypatch)

    def runner(module, args):
        with patch_client(module) as factory:
            result, _out = run_module(module, args, capsys)
        return result, factory.client

    return runner


@pytest.mark.parametrize("module", [audit_log_info, audit_log_export])
@pytest.mark.parametrize("name,must,value", REFUSED)
def test_api_modules_refuse_zero_and_negatives(run, tmp_path, module, name, must, value):
    args = api_args(module, tmp_path)
    args[name] = value
    result, client = run(module, args)
    assert result.get("failed") is True
    assert result["msg"] == "%s: %s" % (name, must)
    assert client is None
    assert not (tmp_path / "bundle").exists()


@pytest.mark.parametrize("module", [audit_log_info, audit_log_export])
def test_max_retries_zero_means_no_retries_and_is_taken(run, tmp_path, module):
    result, client = run(module, dict(api_args(module, tmp_path), max_retries=0))
    assert "failed" not in result, result.get("msg")
    assert client.options["max_retries"] == 0


@pytest.mark.parametrize("name", ["top", "list_limit"])
@pytest.mark.parametrize("value", [0, -1])
def test_the_report_refuses_zero_and_negatives(capsys, tmp_path, name, value):
    result, _out = run_module(audit_log_report, {"src": str(tmp_path), name: value}, capsys)
    assert result.get("failed") is True
    assert result["msg"] == "%s: must be a whole number of at least 1" % name
