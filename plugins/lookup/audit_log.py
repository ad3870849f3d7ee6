# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: audit_log
short_description: Read entries of the Nirvana Labs audit log in templates and plays
version_added: 0.1.0
description:
  - With terms, each term is the id of an entry and the entries are returned in the order of
    the terms. O(on_missing) decides what an id that does not exist does.
  - Without terms, returns every entry that matches the list options (O(since), O(until), the
    filters, O(max_results), O(order)), as a flat list of dictionaries.
  - Filters the API can apply are sent to it; every entry is checked again on the client, so
    the result is the same whether the server supports the 2026-08 filters or only paging.
  - When O(max_results) cut the list short, the list simply ends there (it was asked for). To
    read a long list in batches, use the M(nirvana_labs.audit.audit_log_info) module, which
    returns a cursor to resume from.
  - A list known to be incomplete (the server's count and the entries received disagree, or
    O(max_pages) or O(scan_timeout) stopped it) fails the lookup with the reason, or warns
    with O(on_incomplete=warn).
  - Runs on the controller, once per call; the lookup needs no inventory host.
  - "C(lookup) vs C(query): the lookup always returns a list of entries, but Ansible hands
    C(lookup) a list of one as the bare entry (a dictionary) and any other list as a list, so
    the shape of a C(lookup) result depends on how many entries came back. Use C(query) (or
    C(lookup) with C(wantlist=true)) whenever the count can vary: C(query) always gives a list."
author:
  - Nirvana Labs (@nirvana-labs)
requirements:
  - requests (on the controller)
options:
  _terms:
    description:
      - Ids of the entries to return, in this order. Lists of ids are flattened.
      - Without terms, the lookup lists the entries that match the list options.
      - Ids and list options cannot be combined.
    type: list
    elements: str
    required: false
extends_documentation_fragment:
  - nirvana_labs.audit.connection.plugins
  - nirvana_labs.audit.query
  - nirvana_labs.audit.query.on_missing
  - nirvana_labs.audit.query.fields
  - nirvana_labs.audit.query.cache
  - nirvana_labs.audit.query.on_incomplete
notes:
  - "Configuration follows Ansible's precedence: keyword arguments of the lookup, then Ansible
    variables (C(nirvana_labs_api_key), C(nirvana_labs_base_url), ...), then environment
    variables (E(NIRVANA_LABS_API_KEY), ...), then the C([nirvana_labs]) section of
    C(ansible.cfg), then the default."
  - Values given through variables may be templates, such as a variable
    C(nirvana_labs_api_key) set to C({{ vault_api_key }}); the lookup renders them. An empty
    string, from a variable or a keyword argument, counts as not set.
  - The time window is half-open, O(since) inclusive and O(until) exclusive, and relative
    times (C(7d)) are resolved once per call.
  - An option the lookup does not know fails the call, so that a misspelt filter never lists
    every entry.
seealso:
  - module: nirvana_labs.audit.audit_log_info
    description: The same read as a task, with resumable results and completeness figures.
"""

EXAMPLES = r"""
# Connection settings usually live in variables (group_vars/all.yml, say):
#   nirvana_labs_api_key: "{{ vault_nirvana_labs_api_key }}"
#   nirvana_labs_base_url: https://api.nirvanalabs.io
# or in the environment (NIRVANA_LABS_API_KEY), or in ansible.cfg:
#   [nirvana_labs]
#   base_url = https://api.nirvanalabs.io

- name: One entry by id (lookup returns a list of one as the bare dictionary)
  ansible.builtin.debug:
    msg: "{{ lookup('nirvana_labs.audit.audit_log', '123e4567-e89b-12d3-a456-426614174000').action }}"

- name: Several entries by id, in this order; leave out the ones that do not exist
  ansible.builtin.debug:
    msg: "{{ query('nirvana_labs.audit.audit_log', id1, id2, id3, on_missing='warn') | map(attribute='action') }}"

- name: The last 20 API-key deletions (query, because the list may hold one entry or none)
  ansible.builtin.set_fact:
    key_deletions: "{{ query('nirvana_labs.audit.audit_log', action='api_key.deleted', max_results=20) }}"

- name: Render them into the incident report
  ansible.builtin.copy:
    dest: /tmp/incident-report.md
    mode: "0644"
    content: |
      # API keys deleted
      {% for entry in key_deletions %}
      - {{ entry.created_at }}: {{ entry.actor.name | default(entry.actor.id, true) }}
        from {{ entry.client_ip }} deleted {{ entry.target.id | default('an unknown key') }}
      {% else %}
      No API key was deleted.
      {% endfor %}
  delegate_to: localhost

- name: Fail the play if anyone but CI changed production VMs today
  vars:
    vm_changes: >-
      {{ query('nirvana_labs.audit.audit_log', since='1d', target_type='vm',
               method=['POST', 'PATCH', 'DELETE'])
         | rejectattr('actor.name', 'equalto', 'ci-deployer') | list }}
  ansible.builtin.fail:
    msg: "VMs changed outside CI: {{ vm_changes | map(attribute='id') | join(', ') }}"
  when: vm_changes | length > 0

- name: Per-call connection settings win over variables, environment and ansible.cfg
  ansible.builtin.debug:
    msg: >-
      {{ query('nirvana_labs.audit.audit_log', since='2h', status_code='5xx',
               base_url='https://127.0.0.1:8443', ca_path='/etc/ssl/private-ca.pem') | length }}
      server errors in the last two hours

- name: "lookup and query: the same entries, different shapes"
  vars:
    failures: "{{ query('nirvana_labs.audit.audit_log', since='1h', status_code='5xx') }}"
    failures_joined: "{{ lookup('nirvana_labs.audit.audit_log', since='1h', status_code='5xx', wantlist=true) }}"
  ansible.builtin.assert:
    that:
      - failures is sequence
      - failures == failures_joined
"""

RETURN = r"""
_raw:
  description:
    - The entries, as the API returned them (fields the collection does not know are kept).
    - With terms, one entry per id found, in the order of the terms.
    - Without terms, every match, in the order O(order) asks for (by C(created_at), then C(id)).
    - Always a list of dictionaries; C(lookup) hands a list of one to the template as the bare
      dictionary.
  type: list
  elements: dict
  contains:
    id: {description: Unique id of the entry., type: str}
    action: {description: "What was done, C(<resource>.<verb>), such as C(vm.deleted).", type: str}
    actor: {description: "Who did it, with C(id), C(name) (may be V(null) for API keys) and C(type) (V(user) or V(api_key)).", type: dict}
    client_ip: {description: IPv4 or IPv6 address of the caller., type: str}
    created_at: {description: "When it happened, RFC 3339.", type: str}
    method: {description: HTTP method of the audited request., type: str}
    path: {description: Path of the audited request., type: str}
    status_code: {description: HTTP status the audited request got., type: int}
    user_agent: {description: User agent of the caller., type: str}
    target: {description: "The resource acted on, with C(id) and C(type); may be absent or V(null).", type: dict}
"""

from ansible.errors import AnsibleLookupError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import (
    AuditLogClient,
    HAS_REQUESTS,
    read_arguments,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import NotFoundError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    CONNECTION_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.filters import (
    FILTER_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.info import FIELDS_OPTIONS
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.lookup import (
    CACHE_OPTIONS,
    ON_INCOMPLETE_OPTIONS,
    ON_MISSING_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.reading import (
    READ_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.results import (
    completeness_warning,
    field_paths,
    project_all,
    truncation_warning,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import WINDOW_SETTLE_SECONDS, is_final
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import utc_now
from ansible_collections.nirvana_labs.audit.plugins.plugin_utils.lookup_base import (
    SchemaLookupBase,
)
from ansible_collections.nirvana_labs.audit.plugins.plugin_utils.lookup_cache import (
    cache_material,
    read_through,
)

display = Display()


class LookupModule(SchemaLookupBase):

    OPTION_GROUPS = (CONNECTION_OPTIONS, FILTER_OPTIONS, READ_OPTIONS, ON_MISSING_OPTIONS,
                     FIELDS_OPTIONS, CACHE_OPTIONS, ON_INCOMPLETE_OPTIONS)
    # The list options, which ids (terms) exclude.
    LIST_GROUPS = (FILTER_OPTIONS, READ_OPTIONS)

    def run(self, terms, variables=None, **kwargs):
        if not HAS_REQUESTS:
            raise AnsibleLookupError(missing_required_lib("requests"))
        self.load_options(variables, kwargs)
        ids = self._ids(terms)
        given = sorted(name for name in kwargs if any(name in group for group in self.LIST_GROUPS))
        if ids and given:
            raise AnsibleLookupError(
                "ids (terms) and list options (%s) are mutually exclusive: pass ids to read"
                " those entries, or no terms to list the entries that match"
                % ", ".join(given))
        with self.audit_log_errors():
            paths = field_paths(self.get_option("fields"))
            connection = self.connection_options()
            with AuditLogClient.from_options(connection) as client:
                if ids:
                    return project_all(self._read_ids(client, ids), paths)
                return self._read_list(client, connection, paths)

    @staticmethod
    def _ids(terms):
        ids = []
        for term in LookupBase._flatten(terms or []):
            if not isinstance(term, str) or not term.strip():
                raise AnsibleLookupError(
                    "each term must be the id of an audit log entry (a non-empty string),"
                    " not %r" % (term,))
            ids.append(term)
        return ids

    def _read_ids(self, client, ids):
        on_missing = self.get_option("on_missing")
        entries = []
        for entry_id in ids:
            try:
                entries.append(client.get(entry_id))
            except NotFoundError:
                if on_missing == "error":
                    raise AnsibleLookupError(
                        "no audit log entry has the id %r (on_missing=error; use"
                        " on_missing=warn or skip to leave it out)" % (entry_id,))
                if on_missing == "warn":
                    display.warning("nirvana_labs.audit.audit_log: no audit log entry has the"
                                    " id %r; left out" % (entry_id,))
        return entries

    def _read_list(self, client, connection, paths):
        options = self.options_of(*self.LIST_GROUPS)
        query = Query.from_options(options)

        def read():
            entries, report = client.read(query, **read_arguments(options))
            return {"entries": project_all(entries, paths), "report": report}

        if self.get_option("cache") and is_final(query.until, WINDOW_SETTLE_SECONDS, utc_now()):
            # Only a complete read is kept, under everything that decides the answer (the
            # digest's key is the API key itself); the cache never fails the lookup.
            def warn(message):
                display.warning("nirvana_labs.audit.audit_log: " + message)

            result = read_through(connection["api_key"],
                                  cache_material(connection, query, paths, options), read, warn)
        else:
            result = read()
        report = result["report"]
        if report.get("complete") is False and self.get_option("on_incomplete") == "error":
            # A lookup has no result to carry a flag: a known partial list must not pass as
            # the whole answer.
            raise AnsibleLookupError(
                "the list is not complete: %s (on_incomplete=error; use on_incomplete=warn to"
                " get the entries received)" % report.get("incomplete_reason"))
        for warning in (truncation_warning(report), completeness_warning(report)):
            if warning:
                display.warning("nirvana_labs.audit.audit_log: " + warning)
        return result["entries"]
