# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of the event source nirvana_labs.audit.audit_log, and the one function that
reads them from a rulebook's arguments.

The source takes the connection options and the filters of the other plugins (less the
window: its own ``since`` starts it and it has no end) beside its own. ansible-rulebook hands
the arguments over as written, with no Ansible to type them or read the environment, so
``event_source_arguments`` does both, as the modules' argument spec does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    CONNECTION_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.filters import (
    FILTER_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import (
    duration,
    duration_text,
    out_of_bounds,
    typed_values,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
    DEFAULT_INTERVAL,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import FILTER_NAMES
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import SOURCE_SETTLE

SOURCE_NAME = "nirvana_labs.audit.audit_log"
# The poller's own limits on its durations.
MIN_INTERVAL = 0.1
MAX_SECONDS = 86400
# How long an event may stay unacknowledged (feedback) before it is sent again.
DEFAULT_FEEDBACK_TIMEOUT = "5m"
MIN_FEEDBACK_TIMEOUT = 1

SOURCE_FILTER_OPTIONS = dict((name, FILTER_OPTIONS[name]) for name in FILTER_NAMES
                             if name not in ("since", "until"))

SOURCE_OPTIONS = {
    "since": dict(
        type="str",
        default="now",
        description=[
            "Where to start when there is no O(state_file) (or it does not exist yet), in the"
            " forms the module's O(nirvana_labs.audit.audit_log_info#module:since) takes"
            " (C(2026-11-01), C(2026-11-01T08:00:00Z), C(30m), C(7d), C(now)).",
            "The default, C(now), sends only entries created from the current second on.",
            "Ignored when O(state_file) exists: the run resumes from it.",
        ],
    ),
    "interval": duration(
        duration_text(DEFAULT_INTERVAL),
        ["How long to wait between the end of a poll and the start of the next."],
        minimum=MIN_INTERVAL,
        maximum=MAX_SECONDS,
    ),
    "settle": duration(
        duration_text(SOURCE_SETTLE),
        [
            "How long after its C(created_at) an entry is listed for good: the window each poll"
            " re-reads, so it must cover the API's ingestion delay, the offset between the API's"
            " clock and this host's, and one second of C(created_at) rounding.",
            "It settles entries, one by one; the export's O(nirvana_labs.audit.audit_log_export"
            "#module:settle) settles a whole window, and its default is longer (V(5m)) because"
            " a bundle marked final must stay complete.",
            "A larger value costs a little more reading per poll, never a duplicate.",
        ],
        above=0,
        maximum=MAX_SECONDS,
    ),
    "ordered": dict(
        type="bool",
        default=False,
        description=[
            "Hold each entry until it has settled, so events come in strict creation order"
            " even when the API lists an entry late, at the cost of O(settle) of latency.",
            "By default an entry is sent as soon as it is listed; a late one can then follow"
            " a newer one.",
        ],
    ),
    "state_file": dict(
        type="path",
        description=[
            "File where the source records what it has sent (mode C(0600); it holds entry"
            " ids and times, never the key): each event appends a line to"
            " C(<state_file>.journal), and each batch rewrites the snapshot atomically. A"
            " restart with the same file resumes with no gap and no duplicate.",
            "One source per file: C(<state_file>.lock) is held while the source runs, and a"
            " second source with the same file is refused at start.",
            "Mutually exclusive with O(state_dsn).",
        ],
    ),
    "state_dsn": dict(
        type="str",
        no_log=True,
        description=[
            "Keep what the source has sent in PostgreSQL instead of a file, so a restarted"
            " activation (a fresh container with no files) resumes with no gap and no"
            " duplicate: a libpq connection string (C(host=db port=5432 dbname=eda user=eda))"
            " or URI (C(postgresql://eda@db/eda)). The password comes from the environment"
            " variable C(PGPASSWORD) (what an EDA credential can inject) or from the string"
            " itself; it never appears in a message or a log.",
            "The source creates its tables C(nirvana_labs_audit_checkpoint) (one row per"
            " O(state_key)) and C(nirvana_labs_audit_journal) when missing; its role needs"
            " C(CREATE) on the schema for that, then C(SELECT), C(INSERT), C(UPDATE) and"
            " C(DELETE) on both. A wrong password, an unknown host or a missing privilege"
            " stops the source at start with a message.",
            "Sources with the same O(state_key) never deliver at the same time: one holds a"
            " PostgreSQL advisory lock and delivers; the others wait as standbys, trying the"
            " lock every 2 seconds, and one takes over from the stored checkpoint when the"
            " leader stops: one standby period (2 seconds) and a reconnect after its process"
            " dies, within 27 seconds of its host vanishing (server-side TCP keepalives,"
            " C(tcp_keepalives_idle=10), C(tcp_keepalives_interval=5),"
            " C(tcp_keepalives_count=3)). Every write carries a fencing"
            " token, so a source that lost the lock cannot move the checkpoint.",
            "When the database restarts or cannot be reached, the source stops sending, logs"
            " a warning, and resumes when it is back. At most one event can then be sent"
            " twice: the one whose record failed, and only when another source took the key"
            " over (or this one died) before the database came back.",
            "Needs the Python package C(psycopg) (3.x) where the source runs (the decision"
            " environment). Mutually exclusive with O(state_file).",
        ],
    ),
    "state_key": dict(
        type="str",
        description=[
            "The name of this source's checkpoint row with O(state_dsn) (and of its advisory"
            " lock): sources with the same key share one checkpoint and one leader.",
            "Default: C(audit_log:) and the first 16 hexadecimal digits of the SHA-256 of the"
            " base URL and the filters (canonical JSON), so activations of the same rulebook"
            " share it and sources with other filters do not. Set it to keep the checkpoint"
            " when the filters change.",
        ],
    ),
    "feedback": dict(
        type="bool",
        default=False,
        description=[
            "Acknowledged delivery. With V(true) an event counts as delivered only once"
            " ansible-rulebook has acknowledged it, that is, its rules have processed it"
            " (matched or not; the actions they trigger may not have run yet): only then is it"
            " recorded in O(state_file), and the state moves past a batch only when every"
            " event of it was acknowledged. Events are sent without waiting for each"
            " acknowledgement. After a stop or a crash, a restart sends again exactly the events"
            " whose acknowledgement was not recorded: none is lost, and the only duplicates"
            " are events the rules had processed just before the stop.",
            "ansible-rulebook gives a source its acknowledgements only when started with"
            " C(--persistence-id) (the EDA controller sets one); V(true) without them fails at"
            " start. A source filter that drops an event or changes its C(audit_log) leaves it"
            " unacknowledged (it is then sent again after O(feedback_timeout)).",
            "With V(false) (the default), delivered means put on ansible-rulebook's queue,"
            " which holds one event: an event the engine had taken but not yet processed when"
            " it stopped is not sent again.",
        ],
    ),
    "feedback_timeout": duration(
        DEFAULT_FEEDBACK_TIMEOUT,
        ["With O(feedback), how long an event may go unacknowledged before it is sent again,"
         " with a warning (the rules then see it twice if they were only slow)."],
        minimum=MIN_FEEDBACK_TIMEOUT,
        maximum=MAX_SECONDS,
    ),
}

# What the source documents and takes, in the order of its documentation.
EVENT_SOURCE_GROUPS = (CONNECTION_OPTIONS, SOURCE_FILTER_OPTIONS, SOURCE_OPTIONS)


def event_source_arguments(args, environ=None):
    """``(connection, filters, source)`` from a rulebook's arguments: unknown names refused,
    connection options falling back to their environment variables, every value typed,
    defaulted and checked against its bounds; filters as given (the Query checks them)."""
    environ = os.environ if environ is None else environ
    # ansible-rulebook adds its own eda_* arguments (eda_feedback_queue, ...).
    args = dict((k, v) for k, v in (args or {}).items() if not k.startswith("eda_"))
    known = set(name for group in EVENT_SOURCE_GROUPS for name in group)
    unknown = sorted(set(args) - known)
    if unknown:
        raise InvalidOption(unknown[0], "is not an option of %s" % SOURCE_NAME)
    connection = typed_values(args, CONNECTION_OPTIONS, environ)
    if not connection.get("api_key"):
        raise InvalidOption("api_key", "is required; set it or NIRVANA_LABS_API_KEY")
    filters = dict((name, args[name]) for name in SOURCE_FILTER_OPTIONS
                   if args.get(name) is not None)
    source = typed_values(args, SOURCE_OPTIONS, {})
    found = out_of_bounds(dict(connection, **source), CONNECTION_OPTIONS, SOURCE_OPTIONS)
    if found:
        raise InvalidOption(*found)
    _checkpoint_place(source, connection, filters)
    return connection, filters, source


def _checkpoint_place(source, connection, filters):
    """``state_file`` or ``state_dsn``, not both; ``state_key`` defaulted with a DSN. Without
    a DSN neither is left in ``source`` (what remains are the poller's arguments)."""
    if source.get("state_dsn") is not None and not source["state_dsn"].strip():
        raise InvalidOption("state_dsn", "is empty; give a libpq connection string or URI")
    if source.get("state_file") and source.get("state_dsn"):
        raise InvalidOption("state_dsn", "and state_file are mutually exclusive: keep the"
                                         " checkpoint in PostgreSQL or in a file, not both")
    if source.get("state_key") is not None and not source["state_key"].strip():
        raise InvalidOption("state_key", "is empty")
    if not source.get("state_dsn"):
        if source.pop("state_key", None) is not None:
            raise InvalidOption("state_key", "names a checkpoint in PostgreSQL: give state_dsn"
                                             " too")
        source.pop("state_dsn", None)  # the poller's own options only, as before
    elif not source.get("state_key"):
        source["state_key"] = default_state_key(connection.get("base_url"), filters)


def default_state_key(base_url, filters):
    """``audit_log:`` + 16 hex digits of the SHA-256 of the base URL and the filters."""
    text = json.dumps({"base_url": (base_url or "").rstrip("/"), "filters": filters},
                      sort_keys=True, separators=(",", ":"), default=str)
    return "audit_log:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
