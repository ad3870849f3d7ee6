# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static material the generated audit entries are made of.

The operations are the provider's real endpoints (contract, "The rest of the API"); each one
fixes method, path template, action and the type of its target. Everything random (which
resource, which actor, which status) is drawn in ``data.py`` from the seed.
"""

# Resource types: (target type, URL collection, parent type or None, pool size).
# A child collection's URL has the parent's id in it, e.g. /v1/nks/clusters/{id}/pools.
RESOURCES = (
    ("vm", "/v1/compute/vms", None, 120),
    ("volume", "/v1/compute/volumes", None, 80),
    ("vpc", "/v1/networking/vpcs", None, 16),
    ("firewall_rule", "firewall_rules", "vpc", 60),
    ("connection", "/v1/networking/connect/connections", None, 10),
    ("nks_cluster", "/v1/nks/clusters", None, 6),
    ("nks_pool", "pools", "nks_cluster", 18),
    ("api_key", "/v1/api_keys", None, 14),
    ("project", "/v1/projects", None, 8),
    ("organization", "/v1/organizations", None, 2),
    ("rpc_node", "/v1/rpc_nodes/flex", None, 10),
)

# How often each resource type is touched (relative weights).
RESOURCE_WEIGHT = {
    "vm": 30, "volume": 14, "vpc": 6, "firewall_rule": 8, "connection": 3, "nks_cluster": 5,
    "nks_pool": 4, "api_key": 4, "project": 4, "organization": 3, "rpc_node": 6,
}

# Verb kinds: (verb kind, method, action verb, on an item?, relative weight).
CRUD = (
    ("list", "GET", "listed", False, 30),
    ("create", "POST", "created", False, 8),
    ("read", "GET", "read", True, 30),
    ("update", "PATCH", "updated", True, 8),
    ("delete", "DELETE", "deleted", True, 5),
)

# Operations beyond plain CRUD: (target type, method, suffix after the item, action, weight).
ITEM_ACTIONS = (
    ("vm", "POST", "restart", "vm.restarted", 6),
    ("volume", "POST", "attach", "volume.attached", 4),
    ("volume", "POST", "detach", "volume.detached", 3),
)

# Status code distributions per verb kind: (code, relative weight). Mostly 2xx.
STATUS = {
    "list": ((200, 940), (401, 8), (403, 12), (429, 15), (500, 10), (502, 5), (503, 10)),
    "read": ((200, 900), (401, 6), (403, 12), (404, 45), (429, 12), (500, 10), (503, 15)),
    "create": ((201, 840), (202, 30), (400, 35), (403, 15), (409, 20), (422, 35), (429, 8),
               (500, 12), (503, 5)),
    "update": ((200, 860), (400, 30), (403, 12), (404, 30), (409, 20), (422, 30), (500, 12),
               (503, 6)),
    "delete": ((204, 780), (202, 80), (403, 15), (404, 60), (409, 40), (500, 15), (503, 10)),
    "action": ((202, 860), (400, 20), (403, 10), (404, 30), (409, 50), (500, 20), (503, 10)),
}

USERS = (
    "Alice Smith", "Bjorn Lindqvist", "Chiara Rossi", "Dev Patel", "Emeka Okafor",
    "Fatima Zahra", "Grace Hopper-Lee", "Hiroshi Tanaka", "Ines Duarte", "Jakub Nowak",
    "Kavya Reddy", "Liam O'Connor", "Mei Chen", "Nadia Haddad", "Oscar Moreno",
    "Priya Nair", "Quentin Dubois", "Rosa Alvarez", "Sven Muller", "Tomasz Zielinski",
)

# API keys; None is a key created without a name (the TypeScript SDK types it nullable).
API_KEYS = (
    "terraform-prod", "ci-deploy", None, "monitoring", "ansible-audit", None,
    "backup-job", "grafana-exporter", None, "rpc-autoscaler",
)

BROWSERS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/128.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/127.0.0.0 Safari/537.36",
)

TOOLS = (
    "nirvana-cli/0.9.3 (linux; amd64)",
    "nirvana-cli/0.9.1 (darwin; arm64)",
    "Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-nirvana/1.2.0",
    "Terraform/1.8.2 (+https://www.terraform.io) terraform-provider-nirvana/1.1.4",
    "NirvanaLabs/Go 1.94.2",
    "NirvanaLabs/JS 1.3.0",
    "python-requests/2.32.3",
    "curl/8.9.1",
    "ansible-collection-nirvana_labs.audit/1.0.0",
)

# Documentation address ranges (RFC 5737, RFC 3849): realistic, and never anyone's real host.
IPV4_PREFIXES = ("203.0.113.", "198.51.100.", "192.0.2.")
IPV6_PREFIX = "2001:db8:"

# Data window: entries are spread over this many seconds before "now".
WINDOW_SECONDS = 90 * 86400
# Share of entries that reuse the previous entry's second (bursts; exercise the id tie-break).
TIE_RATE = 0.04
# Share of entries from an address the actor never used before.
RARE_IP_RATE = 0.005
