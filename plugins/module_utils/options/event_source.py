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

import os

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    CONNECTION_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.filters import (
    FILTER_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import (
    out_of_bounds,
    typed_values,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
    DEFAULT_INTERVAL,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import FILTER_NAMES
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import SOURCE_SETTLE
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import parse_duration

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
    "interval": dict(
        type="float",
        default=DEFAULT_INTERVAL,
        minimum=MIN_INTERVAL,
        maximum=MAX_SECONDS,
        description=["Seconds between the end of a poll and the start of the next."],
    ),
    "settle": dict(
        type="float",
        default=SOURCE_SETTLE,
        above=0,
        maximum=MAX_SECONDS,
        description=[
            "Seconds after its C(created_at) by which an entry is listed for good. Each poll"
            " re-reads this window, so it must cover the API's ingestion delay, the offset"
            " between the API's clock and this host's, and one second of C(created_at)"
            " rounding.",
            "A larger value costs a little more reading per poll, never a duplicate.",
        ],
    ),
    "ordered": dict(
        type="bool",
        default=False,
        description=[
            "Hold each entry until it has settled, so events come in strict creation order"
            " even when the API lists an entry late, at the cost of O(settle) seconds of"
            " latency.",
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
    "feedback_timeout": dict(
        type="str",
        default=DEFAULT_FEEDBACK_TIMEOUT,
        description=[
            "With O(feedback), how long an event may go unacknowledged before it is sent"
            " again, with a warning (the rules then see it twice if they were only slow).",
            "Seconds (V(300)) or a number and a unit C(s), C(m), C(h), C(d) or C(w) (V(90s),"
            " V(5m)); from 1 second to 1 day.",
        ],
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
    source["feedback_timeout"] = _duration("feedback_timeout", source["feedback_timeout"],
                                           MIN_FEEDBACK_TIMEOUT)
    found = out_of_bounds(dict(connection, **source), CONNECTION_OPTIONS, SOURCE_OPTIONS)
    if found:
        raise InvalidOption(*found)
    return connection, filters, source


def _duration(name, value, minimum):
    """Seconds of a duration option (the collection's one grammar: 300, 90s, 5m)."""
    try:
        seconds = parse_duration(value)
    except ValueError as err:
        raise InvalidOption(name, str(err))
    if not minimum <= seconds <= MAX_SECONDS:
        raise InvalidOption(name, "must be from %g to %g seconds" % (minimum, MAX_SECONDS))
    return seconds
