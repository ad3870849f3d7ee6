# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Push-down: the query parameters a 2026-08 server applies, each a superset of the client
filter, so the client's re-check keeps the answer the same whichever server replies."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.filters import (
    EXACT_SERVER_FIELDS,
    is_glob,
    longest_literal,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import format_utc


def server_params(raw, since, until, networks, status_ranges):
    """The parameters for filters as typed (``raw``), the window and the compiled networks
    and status ranges.

    A parameter takes one value, so a filter is pushed down only when one server value
    covers it: a single exact value, the bounds of the window (``until`` is exclusive here
    and inclusive there; the re-check drops the boundary), one range spanning every
    requested status, or the longest literal part of a single path glob.
    """
    params = {}
    if since:
        params["created_at_min"] = format_utc(since)
    if until:
        params["created_at_max"] = format_utc(until)
    for name in EXACT_SERVER_FIELDS:
        if len(raw[name]) == 1 and not is_glob(raw[name][0]):
            params[name] = raw[name][0]
    if len(raw["actor_type"]) == 1:
        params["actor_type"] = raw["actor_type"][0]
    if len(raw["method"]) == 1:
        params["method"] = raw["method"][0]
    if len(raw["path"]) == 1:
        literal = longest_literal(raw["path"][0])
        if literal:
            params["path"] = literal
    if len(networks) == 1:
        network = networks[0]
        if network.num_addresses == 1:
            # Sent in canonical form (RFC 5952 for IPv6), which is how addresses are stored.
            params["client_ip"] = str(network.network_address)
    if status_ranges:
        params["status_code_min"] = min(bounds[0] for bounds in status_ranges)
        params["status_code_max"] = max(bounds[1] for bounds in status_ranges)
    return params
