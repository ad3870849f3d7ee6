# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""poller/acks.py: the entries in flight until ansible-rulebook acknowledges them (issue 22)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.acks import (
    InFlight,
    ack_key,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.state import entry_key


class Ticks(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def entry(entry_id, **fields):
    return dict(fields, id=entry_id, created_at="2026-12-01T08:00:00Z")


def event(item):
    """What ansible-rulebook puts back: the event, with its meta added by its filter."""
    return {"audit_log": dict(item), "meta": {"source": {"name": "audit"}, "uuid": "u"}}


def test_an_acknowledgement_returns_the_entry_in_flight_once():
    in_flight = InFlight(30, Ticks())
    first, second = entry("a"), entry("b")
    assert in_flight.handed(first) == "a" and in_flight.handed(second) == "b"
    assert len(in_flight) == 2 and in_flight.pending(["a", "b", "c"]) == 2
    assert in_flight.ack(event(second)) is second
    assert in_flight.ack(event(second)) is None       # a duplicate acknowledgement
    assert in_flight.ack(event(entry("zzz"))) is None  # an unknown key
    assert in_flight.ack({"meta": {}}) is None and in_flight.ack("junk") is None
    assert in_flight.pending(["a", "b"]) == 1 and "a" in in_flight and "b" not in in_flight
    assert (in_flight.acked, in_flight.ignored, in_flight.redelivered) == (1, 4, 0)


def test_an_entry_without_an_id_is_matched_by_its_content():
    keyless = {"created_at": "2026-12-01T08:00:00Z", "action": "vm.deleted"}
    in_flight = InFlight(30, Ticks())
    key = in_flight.handed(keyless)
    assert key == entry_key(keyless) and key.startswith("sha256:")
    assert ack_key(event(keyless)) == key
    assert in_flight.ack(event(dict(keyless, action="vm.created"))) is None  # other content
    assert in_flight.ack(event(keyless)) is keyless


def test_overdue_entries_come_out_oldest_deadline_first_and_a_new_hand_over_restarts_them():
    ticks = Ticks()
    in_flight = InFlight(10, ticks)
    in_flight.handed(entry("a"))
    ticks.now += 4
    in_flight.handed(entry("b"))
    assert in_flight.overdue() == [] and in_flight.wait_time() == 6
    ticks.now += 6
    assert [e["id"] for e in in_flight.overdue()] == ["a"] and in_flight.wait_time() == 0
    ticks.now += 5
    assert [e["id"] for e in in_flight.overdue()] == ["a", "b"]
    in_flight.handed(entry("a"))  # sent again: a fresh deadline
    assert [e["id"] for e in in_flight.overdue()] == ["b"]
    assert in_flight.redelivered == 1 and len(in_flight) == 2
    assert in_flight.ack(event(entry("a")))["id"] == "a"
    assert in_flight.wait_time() == 0


def test_clear_forgets_everything_and_nothing_is_acknowledged_after_it():
    in_flight = InFlight(10, Ticks())
    in_flight.handed(entry("a"))
    in_flight.clear()
    assert len(in_flight) == 0 and in_flight.wait_time() is None
    assert in_flight.ack(event(entry("a"))) is None


@pytest.mark.parametrize("timeout", [0, -1, True, float("nan")])
def test_a_timeout_must_be_positive(timeout):
    with pytest.raises(ValueError, match="positive"):
        InFlight(timeout)
