# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One duration option for the whole collection: the export's settle and the event source's
interval and settle take the same text, read by the same grammar, refused with the same words."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.ansible_module import (
    argument_spec,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.event_source import (
    EVENT_SOURCE_GROUPS,
    SOURCE_OPTIONS,
    event_source_arguments,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.evidence import (
    EXPORT_OPTIONS,
    REPORT_OPTIONS,
    VERIFY_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import (
    DURATION_SYNTAX,
    bounds_error,
    doc_options,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
    DEFAULT_INTERVAL,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import (
    SOURCE_SETTLE,
    WINDOW_SETTLE_SECONDS,
)

ALL_GROUPS = EVENT_SOURCE_GROUPS + (EXPORT_OPTIONS, REPORT_OPTIONS, VERIFY_OPTIONS)


def source(**args):
    """The event source's typed options for ``args`` (the key given, no environment)."""
    return event_source_arguments(dict(args, api_key="k"), environ={})[2]


def source_error(**args):
    with pytest.raises(InvalidOption) as err:
        source(**args)
    return err.value


def test_the_durations_are_the_settle_interval_and_timeout_options_with_one_definition():
    durations = sorted((group is EXPORT_OPTIONS and "export" or "source", name)
                       for group in ALL_GROUPS for name, schema in group.items()
                       if schema.get("duration"))
    assert durations == [("export", "settle"), ("source", "feedback_timeout"),
                         ("source", "interval"), ("source", "settle")]
    for group, name in ((SOURCE_OPTIONS, "interval"), (SOURCE_OPTIONS, "settle"),
                        (SOURCE_OPTIONS, "feedback_timeout"), (EXPORT_OPTIONS, "settle")):
        doc = doc_options(group)[name]
        # Text in the argument spec and the docs, the one syntax sentence, no marker leaking.
        assert doc["type"] == "str" and doc["description"][-1] == DURATION_SYNTAX
        assert "duration" not in doc and "duration" not in argument_spec(group)[name]


def test_each_default_is_a_duration_meaning_what_it_always_meant():
    assert SOURCE_OPTIONS["settle"]["default"] == "30s"
    assert EXPORT_OPTIONS["settle"]["default"] == "5m"
    typed = source()
    assert (typed["settle"], typed["interval"]) == (SOURCE_SETTLE, DEFAULT_INTERVAL)
    assert bounds_error({"settle": EXPORT_OPTIONS["settle"]["default"]}, EXPORT_OPTIONS) is None
    assert WINDOW_SETTLE_SECONDS == 300


@pytest.mark.parametrize("value,seconds", [
    (30, 30.0), ("30", 30.0), ("30s", 30.0), ("5m", 300.0), ("1.5h", 5400.0), (" 2M ", 120.0),
    (0.5, 0.5), ("0.25m", 15.0), ("1d", 86400.0),
])
def test_the_source_takes_every_form_and_hands_the_poller_seconds(value, seconds):
    typed = source(interval=value, settle=value)
    assert (typed["interval"], typed["settle"]) == (seconds, seconds)
    assert isinstance(typed["interval"], float) and isinstance(typed["settle"], float)


@pytest.mark.parametrize("value", ["5 minutes", "soon", "", "-1s", "1y", "nan", "inf", "5m30s",
                                   True, [5], {"m": 5}])
@pytest.mark.parametrize("name", ["interval", "settle"])
def test_text_outside_the_grammar_is_refused_naming_the_option(name, value):
    err = source_error(**{name: value})
    assert err.option == name
    message = str(err)
    assert message.startswith(name + ": ")
    assert "is not a duration" in message or "expected a duration" in message


@pytest.mark.parametrize("name,value,message", [
    ("interval", "0s", "interval: must be from 0.1 to 86400 seconds"),
    ("interval", "2d", "interval: must be from 0.1 to 86400 seconds"),
    ("interval", 0.05, "interval: must be from 0.1 to 86400 seconds"),
    ("settle", "0", "settle: must be more than 0 and at most 86400 seconds"),
    ("settle", "1w", "settle: must be more than 0 and at most 86400 seconds"),
    ("settle", -30, "settle: must be more than 0 and at most 86400 seconds"),
    ("settle", float("nan"), "settle: must be more than 0 and at most 86400 seconds"),
])
def test_a_duration_outside_its_bounds_is_refused_in_seconds(name, value, message):
    assert str(source_error(**{name: value})) == message


@pytest.mark.parametrize("value", ["soon", "5 minutes", "-5m", "1y"])
def test_the_export_refuses_the_same_text_in_the_same_words(value):
    source_message = str(source_error(settle=value))
    assert bounds_error({"settle": value}, EXPORT_OPTIONS) == source_message


@pytest.mark.parametrize("value", ["0", "30", "30s", "5m", "1h", "2d", "1w"])
def test_the_export_takes_any_duration_from_zero_up(value):
    assert bounds_error({"settle": value}, EXPORT_OPTIONS) is None
