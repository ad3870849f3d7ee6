#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_log_info
version_added: 0.1.0
short_description: Read entries of the Nirvana Labs audit log
description:
  - Returns one entry of the Nirvana Labs cloud API audit log by O(id), or every entry that
    matches a time window and filters.
  - Filters the API can apply are sent to it; every entry is checked again on the client, so
    the result is the same whether the server supports the 2026-08 filters or only paging.
  - The result states how complete it is (RV(complete), RV(total_count), RV(truncated),
    RV(scan)) and warns when it is not, or may not be, the whole answer. When O(max_results),
    O(max_pages) or O(scan_timeout) stopped the list, RV(next_cursor) resumes it.
  - A read-only module. It never changes anything, and runs the same read in check mode.
  - Usually run on the controller, with C(delegate_to=localhost) or in a play on C(localhost).
author:
  - Nirvana Labs (@nirvana-labs)
extends_documentation_fragment:
  - nirvana_labs.audit.connection
  - nirvana_labs.audit.query
  - nirvana_labs.audit.query.resume
  - nirvana_labs.audit.query.id
  - nirvana_labs.audit.query.fields
  - ansible.builtin.action_common_attributes
  - nirvana_labs.audit.attributes
attributes:
  check_mode:
    support: full
    details:
      - The module only reads; check mode makes the same requests and returns the same result.
notes:
  - The time window is half-open, O(since) inclusive and O(until) exclusive, and relative
    times (C(7d)) are resolved once, at the start; RV(window) reports the instants used.
  - RV(total_count) is the server's count of the list it was asked for. A server without the
    2026-08 filters counts every entry, so compare it with RV(scan.matched), not with the
    length of RV(audit_logs).
seealso:
  - plugin: nirvana_labs.audit.audit_log
    plugin_type: lookup
    description: The same read from templates and plays, without a task.
  - module: nirvana_labs.audit.audit_log_export
    description: Export a period to files with a manifest and checksums, as evidence.
"""

EXAMPLES = r"""
- name: Read one entry by id
  nirvana_labs.audit.audit_log_info:
    id: 123e4567-e89b-12d3-a456-426614174000
  delegate_to: localhost
  register: one

- name: Fail when it does not exist (an unknown id is an empty list, not an error)
  ansible.builtin.assert:
    that: one.audit_logs | length == 1
    fail_msg: "No audit entry 123e4567-e89b-12d3-a456-426614174000"

- name: Who deleted VMs in the last 7 days
  nirvana_labs.audit.audit_log_info:
    since: 7d
    action: vm.deleted
  delegate_to: localhost
  register: vm_deletions

- name: List who did it and when
  ansible.builtin.debug:
    msg: "{{ item.created_at }} {{ item.actor.name | default(item.actor.id, true) }} deleted {{ item.target.id | default('?') }}"
  loop: "{{ vm_deletions.audit_logs }}"
  loop_control:
    label: "{{ item.id }}"

- name: Failed API-key calls from outside our network, during November
  nirvana_labs.audit.audit_log_info:
    since: "2026-11-01"
    until: "2026-12-01"
    actor_type: api_key
    status_code: [4xx, 5xx]
  delegate_to: localhost
  register: failed_key_calls

# The API filters on addresses and ranges to include; excluding a range is done in Jinja,
# here with the in_network test of the ansible.utils collection (it needs netaddr).
- name: Keep the calls that did not come from 10.0.0.0/8
  ansible.builtin.set_fact:
    outside_calls: >-
      {{ failed_key_calls.audit_logs
         | rejectattr('client_ip', 'ansible.utils.in_network', '10.0.0.0/8') | list }}

- name: Read the first 500 entries of a long period, oldest first
  nirvana_labs.audit.audit_log_info:
    since: "2026-10-01"
    until: "2026-11-01"
    order: oldest_first
    max_results: 500
  delegate_to: localhost
  register: first_batch

- name: Read the next 500, from where the first call stopped
  nirvana_labs.audit.audit_log_info:
    since: "2026-10-01"
    until: "2026-11-01"
    order: oldest_first
    max_results: 500
    cursor: "{{ first_batch.next_cursor }}"
  delegate_to: localhost
  register: second_batch
  when: first_batch.truncated

- name: Set the connection once for every module of the collection
  module_defaults:
    group/nirvana_labs.audit.audit:
      base_url: "{{ nirvana_labs_base_url | default('https://api.nirvanalabs.io') }}"
      api_key: "{{ vault_nirvana_labs_api_key }}"
      timeout: 30
  block:
    - name: Changes to firewall rules today, by people
      nirvana_labs.audit.audit_log_info:
        since: 1d
        path: "*firewall_rules*"
        actor_type: user
        method: [POST, PATCH, DELETE]
      delegate_to: localhost
      register: firewall_changes

    - name: Everything one API key did in the last hour
      nirvana_labs.audit.audit_log_info:
        since: 1h
        actor_id: 0b7c5e2a-6a55-4d8e-9f2b-0c1d2e3f4a5b
      delegate_to: localhost
      register: key_activity
"""

RETURN = r"""
audit_logs:
  description:
    - The matching entries, as the API returned them; fields the collection does not know
      are kept.
    - In the order O(order) asks for, by C(created_at) then C(id).
    - With O(id), a list of one entry, or an empty list when no entry has that id.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 123e4567-e89b-12d3-a456-426614174000
      action: vm.created
      actor: {id: 9f8e7d6c-5b4a-4321-8fed-cba987654321, name: Alice Smith, type: user}
      client_ip: 203.0.113.1
      created_at: "2025-01-01T00:00:00Z"
      method: POST
      path: /v1/compute/vms
      status_code: 201
      user_agent: Mozilla/5.0
      target: {id: 5a6b7c8d-1e2f-4a3b-9c8d-7e6f5a4b3c2d, type: vm}
  contains:
    id: {description: Unique id of the entry., type: str, returned: always}
    action: {description: "What was done, C(<resource>.<verb>), such as C(vm.deleted).", type: str, returned: always}
    actor:
      description: Who did it.
      type: dict
      returned: always
      contains:
        id:
          description: Id of the user or API key.
          type: str
        name:
          description: Display name; may be V(null) for API keys.
          type: str
        type:
          description: V(user) or V(api_key).
          type: str
    client_ip: {description: IPv4 or IPv6 address of the caller., type: str, returned: always}
    created_at: {description: "When it happened, RFC 3339.", type: str, returned: always}
    method: {description: HTTP method of the audited request., type: str, returned: always}
    path: {description: Path of the audited request., type: str, returned: always}
    status_code: {description: HTTP status the audited request got., type: int, returned: always}
    user_agent: {description: User agent of the caller., type: str, returned: always}
    target:
      description: The resource acted on, with C(id) and C(type); may be absent or V(null).
      type: dict
      returned: when the API sends it
total_count:
  description:
    - In list mode, the number of entries the server counts in the list it was asked for
      (after the filters it applied itself). A server without the 2026-08 filters counts every
      entry; RV(scan.matched) is the number that matched every filter.
    - With O(id), the number of entries returned, V(0) or V(1).
  returned: always
  type: int
  sample: 125
truncated:
  description:
    - Whether O(max_results) stopped the list before every match was read; RV(next_cursor)
      then resumes the list. The cap was asked for, so this alone does not warn.
  returned: always
  type: bool
  sample: false
next_cursor:
  description:
    - When O(max_results) (RV(truncated)), O(max_pages) or O(scan_timeout) stopped the list,
      pass this as O(cursor), with the same filters, to read the next entries. V(null)
      otherwise.
  returned: always
  type: str
  sample: null
complete:
  description:
    - Whether RV(audit_logs) is known to be the whole answer to the filters the server applied.
    - V(true) when the list was read to its end and the server sent exactly as many entries
      as it said match (C(total_count), of the first or the last page), duplicates not counted.
    - V(false) when it was read to its end and another number arrived, or when O(max_pages)
      or O(scan_timeout) stopped it. A warning then carries RV(incomplete_reason).
    - V(null) when it cannot be known. Without a warning when O(max_results) cut the list (a
      part was asked for), when the scan resumed from O(cursor) (earlier calls hold the rest),
      or when paging stopped early because the verified order left nothing more to match
      (RV(scan.stopped_early); the result is exact by that order). With a warning when the
      server sent no C(total_count).
    - With O(id), not returned.
  returned: in list mode (without O(id))
  type: bool
  sample: true
incomplete_reason:
  description: Why RV(complete) is not V(true), or V(null) when it is.
  returned: in list mode (without O(id))
  type: str
  sample: >-
    the server said 1200 entries match the request (total_count) but sent 100; the result
    cannot be the whole answer
window:
  description: The time window used, resolved once to UTC instants.
  returned: in list mode (without O(id))
  type: dict
  contains:
    since:
      description: Inclusive lower bound, RFC 3339 UTC, or V(null) without O(since).
      type: str
      sample: "2026-11-01T00:00:00Z"
    until:
      description: Exclusive upper bound, RFC 3339 UTC, or V(null) without O(until).
      type: str
      sample: "2026-12-01T00:00:00Z"
scan:
  description: How the list was read, to judge its completeness.
  returned: in list mode (without O(id))
  type: dict
  contains:
    pages:
      description: Pages requested from the API.
      type: int
      sample: 3
    scanned:
      description: Entries read from the API, before client-side filtering.
      type: int
      sample: 250
    matched:
      description: Entries that matched every filter (at most O(max_results)).
      type: int
      sample: 42
    duplicates:
      description:
        - Entries the API sent twice (the same id on both sides of a page boundary), counted
          in RV(scan.scanned) and returned once.
      type: int
      sample: 0
    pushed_down:
      description:
        - Filter parameters sent to the API so that it filters on the server, such as
          C(created_at_min), C(action) or C(status_code_min). A server of the first API
          generation ignores them; every entry is checked on the client anyway.
        - The C(sort) parameter is reported in RV(scan.order.sort_sent).
      type: dict
      sample: {created_at_min: "2026-11-01T00:00:00Z", action: vm.deleted}
    stopped_early:
      description:
        - Whether paging stopped before the end of the list because no later entry could
          match (an entry beyond the window, in an order that was asked for and held on every
          entry read).
      type: bool
      sample: true
    stop_reason:
      description: Why paging stopped early, or V(null) when it did not.
      type: str
      sample: >-
        reached an entry beyond since=2026-11-01T00:00:00Z; the newest first order was asked
        for with sort=created_at:desc and verified on all 250 entries read, so no later entry
        can match
    resumed:
      description: Whether this scan continued from O(cursor).
      type: bool
      sample: false
    order:
      description: Ordering of the entries.
      type: dict
      contains:
        requested:
          description: The order O(order) asked for.
          type: str
          sample: newest_first
        sort_sent:
          description: The C(sort) parameter sent to the API, or V(null) if none was sent.
          type: str
          sample: "created_at:desc"
        observed:
          description:
            - The order the entries arrived in, checked on every entry read
              (V(newest_first), V(oldest_first), V(unordered) or V(unknown)).
          type: str
          sample: newest_first
    client_sorted:
      description:
        - Whether the entries were re-sorted on the client because the observed order was not
          the requested one.
      type: bool
      sample: false
    parallel:
      description: Whether the window was read in parallel time slices (O(parallelism)).
      type: dict
      contains:
        used:
          description: Whether slices were read at once.
          type: bool
          sample: true
        reason:
          description: Why the read was sequential, or V(null) when it was parallel.
          type: str
          sample: "the window is not bounded (set both since and until)"
        probes:
          description:
            - Pages spent on balancing the slices (first pages of ranges split again, or of
              the sub-ranges that showed the server ignores the bounds); counted in
              RV(scan.pages).
          type: int
          sample: 1
        slices:
          description: Number of slices, when parallel.
          type: int
          sample: 16
        workers:
          description: Slices read at once, each on its own connection, when parallel.
          type: int
          sample: 8
        backoffs:
          description:
            - Retry waits (C(429), C(5xx)) that held every slice, when parallel; each halved
              the requests allowed in flight.
          type: int
          sample: 0
        fewest_in_flight:
          description:
            - The fewest requests allowed in flight during the read (O(parallelism) when no
              back-off lowered it), when parallel.
          type: int
          sample: 8
        sizes:
          description: Matching entries of each slice in the order returned, when parallel.
          type: list
          elements: int
          sample: [612, 598, 640]
"""

from ansible_collections.nirvana_labs.audit.plugins.module_utils.ansible_module import (
    run_or_fail,
    schema_module,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import (
    AuditLogClient,
    read_arguments,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import NotFoundError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    CONNECTION_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.filters import (
    FILTER_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.info import (
    FIELDS_OPTIONS,
    ID_OPTIONS,
    RESUME_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.reading import (
    READ_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import pick
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.results import (
    completeness_warning,
    id_result,
    field_paths,
    list_result,
    project_all,
    truncation_warning,
)

# Everything that only makes sense when listing; ``id`` excludes each of them.
LIST_OPTIONS = tuple(sorted(FILTER_OPTIONS)) + tuple(sorted(READ_OPTIONS)) + tuple(
    sorted(RESUME_OPTIONS))


def build_module():
    return schema_module(
        (CONNECTION_OPTIONS, FILTER_OPTIONS, READ_OPTIONS, RESUME_OPTIONS, ID_OPTIONS,
         FIELDS_OPTIONS),
        mutually_exclusive=[("id", name) for name in LIST_OPTIONS],
    )


def read_one(client, entry_id):
    try:
        return id_result(client.get(entry_id))
    except NotFoundError:
        # Info modules report absence as an empty list; the caller decides if that is fatal.
        return id_result(None)


def read_list(client, params):
    entries, report = client.read(Query.from_options(pick(params, FILTER_OPTIONS)),
                                  cursor=params["cursor"], **read_arguments(params))
    return list_result(entries, report), report


def run(module):
    params = module.params
    paths = field_paths(params["fields"])
    with AuditLogClient.from_options(pick(params, CONNECTION_OPTIONS)) as client:
        if params["id"] is not None:
            result, report = read_one(client, params["id"]), None
        else:
            result, report = read_list(client, params)
    result["audit_logs"] = project_all(result["audit_logs"], paths)
    return result, report


def main():
    module = build_module()
    result, report = run_or_fail(module, lambda: run(module))
    if report is not None:
        for warning in (truncation_warning(report), completeness_warning(report)):
            if warning:
                module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
