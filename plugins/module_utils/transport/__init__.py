# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP transport, one concern a file; this package re-exports what others import."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.body import (
    DEFAULT_MAX_BODY_BYTES,
    decode_json,
    read_body,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.retry import (
    DEFAULT_MAX_RETRIES,
    MAX_RETRIES_LIMIT,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.session import (
    DEFAULT_TIMEOUT,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.transport import (
    Transport,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.urls import (
    DEFAULT_BASE_URL,
    encode_segment,
    validate_base_url,
)

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_RETRIES", "DEFAULT_TIMEOUT",
           "HAS_REQUESTS", "MAX_RETRIES_LIMIT", "REQUESTS_IMPORT_ERROR", "Transport", "decode_json", "encode_segment",
           "read_body", "validate_base_url"]
