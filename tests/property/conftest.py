# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests of the guarantees the collection states (exactly once, complete,
verified), each against a model. They run once, with plain pytest (``make property``, a step
of ``make test``), not under ``ansible-test units`` on every Python.

Profiles (``HYPOTHESIS_PROFILE``):
  ci    the default: derandomized (the same examples every run) and bounded, a few minutes
        for the whole folder on 2 cores;
  long  ``make property-long``: random and many more examples, for a search before a release.
Examples that once failed are committed as ``@example`` regression cases beside each property.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import runpy

from hypothesis import HealthCheck, settings

# The collection finder, installed exactly as for the unit tests.
runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "unit", "conftest.py"))

settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "long", max_examples=2000, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
