# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client faked at its boundary, for every unit test that must not make a request.

``FakeClient`` is ``AuditLogClient`` with ``get`` and ``scan`` replaced: it records what it was
asked for, and its ``read`` is the real one over the fake scan, so the adapters' one read path
(ordering included) runs for real. ``patch_client`` puts it behind a plugin's
``AuditLogClient.from_options``; ``run_module`` runs a module's ``main()`` as Ansible would
and returns its JSON result.

Imported as ``ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes``: the collection
finder (ansible-test's, or the one ``tests/unit/conftest.py`` installs) resolves it under both
``ansible-test units`` and plain pytest.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.nirvana_labs.audit.plugins.module_utils.batches import batched
from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    NotFoundError,
    TransportError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    CONNECTION_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan_report import (
    scan_report as build_scan_report,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.modules.module_harness import (
    module_args,
)


def scan_report(**overrides):
    """A complete scan report (the keys ``Scan.report`` has, from the one builder) of one page,
    two entries, no filter pushed down, nothing cut short; ``overrides`` replace keys."""
    values = {
        "pages": 1, "scanned": 2, "matched": 2, "total_count": 2,
        "order": {"requested": "newest_first", "sort_sent": "created_at:desc",
                  "observed": "newest_first"},
    }
    values.update(overrides)
    return build_scan_report(**values)


class FakeScan(object):
    """Yields ``entries``, then completes its report, as the real Scan does.

    ``error`` is raised after ``fail_after`` entries (after all of them when ``fail_after`` is
    None); ``fail_after`` alone raises a connection reset there.
    """

    def __init__(self, entries, report, error=None, fail_after=None):
        self._entries = list(entries)
        self._final = report
        self._error = error
        self._fail_after = fail_after
        if fail_after is not None and error is None:
            self._error = TransportError("connection reset by peer")
        self.report = {"pages": 0}

    def __iter__(self):
        stop = len(self._entries) if self._fail_after is None else self._fail_after
        yield from self._entries[:stop]
        if self._error is not None:
            raise self._error
        self.report = self._final

    def batches(self):
        """The entries in small batches, as a consumer of ``IteratedOnce.batches`` takes
        them (an error still surfaces part-way)."""
        return batched(iter(self), 2)


def _completeness(report):
    """``complete`` and its reason as the real Scan judges them from the report's figures."""
    total = report.get("total_count")
    if report.get("truncated"):
        return {"complete": None, "incomplete_reason": "stopped at max_results as asked"}
    if report.get("stopped_early") or report.get("resumed"):
        return {"complete": None, "incomplete_reason": "the scan did not read to the end"}
    if not isinstance(total, int) or isinstance(total, bool):
        return {"complete": None, "incomplete_reason": "the server sent no total_count"}
    if total == report.get("scanned"):
        return {"complete": True, "incomplete_reason": None}
    return {"complete": False, "incomplete_reason": "the server said %d entries match the"
                                                    " request (total_count) but sent %s"
                                                    % (total, report.get("scanned"))}


class FakeClient(object):
    """Stands in for AuditLogClient; ``calls`` records ``("get", id)`` and
    ``("scan", query, page_size, max_results, cursor)`` in order.

    entries: what every scan yields. by_id: the entries ``get`` finds (NotFoundError for any
    other id). report: keys of the final scan report that differ from a complete read of
    ``entries`` over the query's window. error: raised by ``get`` and ``scan`` themselves.
    scan_error, fail_after: raised during the iteration (see ``FakeScan``). options: what
    ``from_options`` was given.
    """

    def __init__(self, entries=(), by_id=None, report=None, error=None, scan_error=None,
                 fail_after=None, options=None):
        self.entries = list(entries)
        self.by_id = by_id or {}
        self.report = report or {}
        self.error = error
        self.scan_error = scan_error
        self.fail_after = fail_after
        self.options = options
        self.calls = []
        self.closed = False

    @property
    def scans(self):
        """``(query, page_size, max_results, cursor)`` of every scan asked for."""
        return [call[1:] for call in self.calls if call[0] == "scan"]

    def get(self, entry_id):
        self.calls.append(("get", entry_id))
        if self.error is not None:
            raise self.error
        if entry_id not in self.by_id:
            raise NotFoundError("not found (HTTP 404): no such entry", 404)
        return self.by_id[entry_id]

    # The real read, on top of the fake scan below: the adapters' one read path.
    read = AuditLogClient.read

    def scan(self, query, page_size=100, max_results=None, cursor=None, parallelism=1,
             spill=True, prefetch=False, max_pages=None, deadline=None):
        # pylint: disable=unused-argument
        self.parallelism = parallelism
        self.guards = (max_pages, deadline)
        self.calls.append(("scan", query, page_size, max_results, cursor))
        if self.error is not None:
            raise self.error
        count = len(self.entries)
        report = scan_report(scanned=count, matched=count, total_count=count,
                             window=dict(query.window))
        report.update(self.report)
        if "complete" not in report:
            report.update(_completeness(report))
        return FakeScan(self.entries, report, self.scan_error, self.fail_after)

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class ClientFactory(object):
    """``AuditLogClient.from_options`` of a patched plugin: makes a FakeClient with the
    configured arguments (or raises ``construct_error``) and keeps what it made."""

    def __init__(self, construct_error=None, **client_kwargs):
        self.construct_error = construct_error
        self.defaults = client_kwargs
        self.client_kwargs = client_kwargs
        self.made = []

    def configure(self, construct_error=None, **client_kwargs):
        """What the next client does: the factory's arguments, these replacing some."""
        self.construct_error = construct_error
        self.client_kwargs = dict(self.defaults, **client_kwargs)

    def from_options(self, options):
        if self.construct_error is not None:
            raise self.construct_error
        self.made.append(FakeClient(options=options, **self.client_kwargs))
        return self.made[-1]

    @property
    def client(self):
        """The last client made, None when none was (refused before any request)."""
        return self.made[-1] if self.made else None


@contextlib.contextmanager
def patch_client(plugin, **client_kwargs):
    """Inside the block, ``plugin.AuditLogClient.from_options`` makes FakeClients; yields the
    ClientFactory. Only the plugin's own name is replaced, not the real class."""
    factory = ClientFactory(**client_kwargs)
    fake_class = mock.Mock(from_options=mock.Mock(side_effect=factory.from_options))
    with mock.patch.object(plugin, "AuditLogClient", fake_class):
        yield factory


def clear_connection_env(monkeypatch):
    """No connection option comes from the environment of the test run."""
    for schema in CONNECTION_OPTIONS.values():
        for env in schema.get("env", []):
            monkeypatch.delenv(env, raising=False)


def run_module(module, args, capsys):
    """Run ``module.main()`` with ``args`` to its exit; ``(result, raw stdout)``.

    ``result["_warned"]`` lists the warnings the module gave: recorded here because once
    controller code is imported in the same process (the lookup tests), ansible-core 2.19+
    routes module warnings to Display, and keeps them in process-wide state that outlives a
    test.
    """
    warned = []
    real_warn = basic.AnsibleModule.warn

    def warn(ansible_module, warning, *args, **kwargs):
        warned.append(warning)
        return real_warn(ansible_module, warning, *args, **kwargs)

    with module_args(args), mock.patch.object(basic.AnsibleModule, "warn", warn):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["_warned"] = warned
    return result, out
