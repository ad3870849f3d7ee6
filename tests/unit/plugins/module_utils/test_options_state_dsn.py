# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source's PostgreSQL options: state_dsn/state_key parsing, and the DSN's password
never shown (no server needed; the store itself is tested in tests/postgres/)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.event_source import (
    default_state_key,
    event_source_arguments,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller import pg_lease

ENV = {"NIRVANA_LABS_API_KEY": "k"}


def source_of(**args):
    return event_source_arguments(args, environ=ENV)[2]


def test_state_key_defaults_to_a_digest_of_the_base_url_and_the_filters():
    connection, dummy, one = event_source_arguments({"state_dsn": "dbname=eda",
                                                     "action": "vm.deleted"}, environ=ENV)
    assert one["state_dsn"] == "dbname=eda"
    assert one["state_key"] == default_state_key(connection["base_url"], {"action": "vm.deleted"})
    assert one["state_key"].startswith("audit_log:")
    assert len(one["state_key"]) == len("audit_log:") + 16
    same = source_of(state_dsn="host=other", action="vm.deleted")
    other = source_of(state_dsn="dbname=eda", action="vm.created")
    elsewhere = source_of(state_dsn="dbname=eda", action="vm.deleted",
                          base_url="http://127.0.0.1:9")
    assert same["state_key"] == one["state_key"]  # the database is not part of the key
    assert len({one["state_key"], other["state_key"], elsewhere["state_key"]}) == 3
    assert default_state_key("https://a/", {}) == default_state_key("https://a", {})


def test_a_given_state_key_is_kept():
    assert source_of(state_dsn="dbname=eda", state_key="prod-audit")["state_key"] == "prod-audit"


def test_without_a_dsn_the_poller_gets_its_own_options_only():
    source = source_of(state_file="/tmp/x.state")
    assert "state_dsn" not in source and "state_key" not in source


@pytest.mark.parametrize("args,message", [
    ({"state_file": "/tmp/s", "state_dsn": "dbname=eda"},
     "state_dsn: and state_file are mutually exclusive"),
    ({"state_key": "k1"}, "state_key: names a checkpoint in PostgreSQL: give state_dsn too"),
    ({"state_dsn": "  "}, "state_dsn: is empty"),
    ({"state_dsn": "dbname=eda", "state_key": ""}, "state_key: is empty"),
])
def test_refused_combinations(args, message):
    with pytest.raises(InvalidOption) as caught:
        source_of(**args)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("dsn,secret", [
    ("postgresql://eda:S3cret-pw@db:5432/eda", "S3cret-pw"),
    ("postgres://eda:S3cret-pw@db/eda?sslmode=require", "S3cret-pw"),
    ("host=db user=eda password=S3cret-pw dbname=eda", "S3cret-pw"),
    ("host=db user=eda password='S3c ret pw' dbname=eda", "S3c ret pw"),
])
def test_the_dsn_password_is_masked_in_any_text(dsn, secret):
    text = "could not connect with %s (password was %s)" % (dsn, secret)
    masked = pg_lease.mask_dsn(text, dsn, environ={})
    assert secret not in masked and "S3c" not in masked
    assert "********" in masked


def test_pgpassword_is_masked_and_a_missing_psycopg_is_named(monkeypatch):
    assert pg_lease.mask_dsn("auth as Env-pw-77 failed", "dbname=x",
                             environ={"PGPASSWORD": "Env-pw-77"}) == "auth as ******** failed"
    monkeypatch.setattr(pg_lease, "HAS_PSYCOPG", False)
    with pytest.raises(InvalidOption) as caught:
        pg_lease.require_psycopg()
    assert str(caught.value) == ("state_dsn: needs the Python package psycopg (3.x) where the"
                                 " source runs: pip install 'psycopg[binary]'")


def test_the_lock_of_a_key_is_a_stable_signed_64_bit_number():
    assert pg_lease.lock_id("k") == pg_lease.lock_id("k") != pg_lease.lock_id("k2")
    assert -2 ** 63 <= pg_lease.lock_id("audit_log:0123") < 2 ** 63
