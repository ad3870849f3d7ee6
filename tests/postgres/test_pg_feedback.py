# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acknowledged delivery with the checkpoint in PostgreSQL, as an EDA controller activation
runs it (feedback and state_dsn together): only acknowledged entries reach the database, and
the source that leads next (a new container, or the standby) sends again exactly the entries
whose acknowledgement was not recorded, then everything after them, once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio

from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
    AuditLogPoller,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.pg_store import (
    PostgresStore,
)
from ansible_collections.nirvana_labs.audit.tests.unit.extensions.eda.plugins.event_source.test_event_source_feedback import (  # noqa: E501
    Engine,
    model,
    run_poll,
    stopped_once_taken,
)


def leading_poller(pg, key, api, clock):
    store = PostgresStore(pg.dsn(), key).open()
    assert store.lead() is not None  # nobody else holds the key
    return AuditLogPoller(api, since="1h", settle=5, batch=10, clock=clock, store=store)


def test_a_new_leader_sends_again_exactly_what_was_not_acknowledged(pg, fresh_key):
    api, clock = model(40)
    poller = leading_poller(pg, fresh_key, api, clock)
    never = {"e0013", "e0017"}
    engine = Engine(lambda entry_id, seen: entry_id not in never)

    feedback = asyncio.run(stopped_once_taken(engine, poller, 20))
    assert feedback.in_flight.acked == 18
    first_batch = poller.checkpoint.watermark
    poller.close()  # the container is gone: its session, and so its lock, with it

    successor = leading_poller(pg, fresh_key, api, clock)
    assert successor.resumed and successor.checkpoint.watermark == first_batch
    assert never.isdisjoint(successor.checkpoint.sent)
    # What the engine acknowledged of the second batch was recorded in the database.
    assert {"e%04d" % n for n in range(10, 20)} - never <= set(successor.checkpoint.sent)
    engine = Engine()
    asyncio.run(run_poll(engine, successor))
    assert engine.taken == ["e0013", "e0017"] + ["e%04d" % n for n in range(20, 40)]
    successor.close()
