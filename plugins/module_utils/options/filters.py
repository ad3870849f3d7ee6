# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What selects the entries: the time window, the filters and the order.

The names are the Query's (``query.FILTER_NAMES``) and ``order``; a test holds them equal.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import choice
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import ORDERS
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import ACTOR_TYPES

_LIST_TEXT = "Several values match any of them (OR); different options must all match (AND)."
_GLOB_TEXT = "Values may be shell-style glob patterns (C(*), C(?), C([...])), matched case-sensitively."


def _filter(description, **spec):
    """A list filter: several values match any of them."""
    return dict(type="list", elements="str", description=description, **spec)


FILTER_OPTIONS = {
    "since": dict(
        type="str",
        description=[
            "Only entries created at or after this instant (inclusive).",
            "An RFC 3339 date-time (C(2026-11-01T00:00:00Z)), a date (C(2026-11-01), midnight"
            " UTC), C(now), or a time before now: a number and a unit C(s), C(m), C(h), C(d)"
            " or C(w) (C(30m), C(12h), C(7d), C(2w)).",
            "Resolved once, at the start, to an exact UTC instant; the result reports it.",
        ],
    ),
    "until": dict(
        type="str",
        description=[
            "Only entries created before this instant (exclusive), in the forms O(since) takes.",
            "With O(since), the window is half-open, so consecutive periods never share an entry.",
        ],
    ),
    "action": _filter([
        "Only entries with this action, such as C(vm.deleted) or C(api_key.*).",
        _GLOB_TEXT, _LIST_TEXT]),
    "actor_id": _filter(["Only entries by this user or API key id.", _GLOB_TEXT, _LIST_TEXT]),
    "actor_name": _filter([
        "Only entries by an actor with this display name. API keys may have no name.",
        "Applied by the client only: the API has no such filter.",
        _GLOB_TEXT, _LIST_TEXT]),
    "actor_type": _filter(["Only entries by this kind of actor.", _LIST_TEXT],
                          choices=list(ACTOR_TYPES)),
    "target_id": _filter(["Only entries acting on this resource id.", _GLOB_TEXT, _LIST_TEXT]),
    "target_type": _filter([
        "Only entries acting on this kind of resource, such as C(vm), C(volume), C(vpc),"
        " C(api_key).",
        _GLOB_TEXT, _LIST_TEXT]),
    "method": _filter([
        "Only entries of this HTTP method (C(GET), C(POST), C(PATCH), C(DELETE));"
        " case-insensitive.",
        _LIST_TEXT]),
    "path": _filter([
        "Only entries whose request path matches this glob pattern, case-insensitively,"
        " over the whole path: C(/v1/compute/vms/*) for every VM sub-path, C(*firewall*)"
        " for a substring.",
        _LIST_TEXT]),
    "client_ip": _filter([
        "Only entries from this client address or CIDR range, IPv4 or IPv6"
        " (C(203.0.113.7), C(10.0.0.0/8), C(2001:db8::/32)).",
        _LIST_TEXT]),
    "status_code": _filter([
        "Only entries whose audited request got this HTTP status: a code (C(404)), an"
        " inclusive range (C(400-499)) or a class (C(5xx)).",
        _LIST_TEXT]),
    "order": choice(ORDERS, [
        "Order of the entries: by creation time, newest or oldest first.",
        "Asked of the server with C(sort); entries are re-ordered on the client when a"
        " server ignores it.",
    ]),
}
