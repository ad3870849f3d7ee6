# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the option groups turn into: doc options, bounds checks, picked values and, for the
event source (which has no Ansible to do it), values coerced with their environment fallback.

A group is a mapping ``name -> schema``; a schema holds ``type``, ``elements``, ``default``,
``choices``, ``required``, ``no_log`` (what an argument spec takes), the bounds
(``minimum``, ``maximum``, ``above``, ``non_empty``), the sources ``env``, ``vars`` and ``ini``,
and ``description``. A duration option (``duration(...)``: ``interval`` and ``settle``) is
marked ``duration``: text in the argument spec and the docs, seconds once read, in the one
grammar of ``timeutil.parse_duration``. The module argument spec is built by
``ansible_module.argument_spec``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import parse_duration

INI_SECTION = "nirvana_labs"

# Keys of the schema that are documentation only or plugin configuration sources.
_DOC_ONLY = ("description", "env", "vars", "ini", "duration")
# Bounds the argument spec cannot express; ``bounds_error`` checks them.
_BOUNDS = ("minimum", "maximum", "above", "non_empty")
_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")
_KIND_TEXT = {"bool": "boolean", "int": "whole number", "float": "number of seconds"}


def doc_options(*groups, **kwargs):
    """The ``options`` mapping of a DOCUMENTATION block for the given groups.

    ``plugin=True`` adds the ``env``, ``vars`` and ``ini`` sources that lookup plugins read;
    modules (and the event source) document only the environment fallback, in the description.
    """
    plugin = kwargs.get("plugin", False)
    options = {}
    for group in groups:
        for name, schema in group.items():
            doc = dict((k, copy.deepcopy(v)) for k, v in schema.items()
                       if k not in _DOC_ONLY + _BOUNDS and k != "no_log")
            doc["description"] = list(schema["description"])
            if plugin:
                if schema.get("env"):
                    doc["env"] = [{"name": env} for env in schema["env"]]
                if schema.get("vars"):
                    doc["vars"] = [{"name": var} for var in schema["vars"]]
                if schema.get("ini"):
                    doc["ini"] = [{"section": INI_SECTION, "key": schema["ini"]}]
            if schema.get("env"):
                # A missing key is reported with a message naming every source, after every
                # source was read (schema_module, lookup_base); ``required`` would fail first.
                doc.pop("required", None)
            if not plugin and schema.get("env"):
                doc["description"].append(
                    "If not set, the environment variable E(%s) is used." % schema["env"][0])
            options[name] = doc
    return options


def choice(choices, description):
    """A string option taking one of ``choices``, the first being its default."""
    return dict(type="str", choices=list(choices), default=choices[0], description=description)


DURATION_SYNTAX = ("A duration: seconds (V(30)) or a number and a unit C(s), C(m), C(h), C(d) or"
                   " C(w) (V(30s), V(5m), V(1.5h)), as every duration of the collection.")


def duration(default, description, **bounds):
    """A duration option, the one definition the export's ``settle`` and the event source's
    ``interval`` and ``settle`` share: ``default`` as text (V(5m)), ``bounds`` in seconds."""
    schema = dict(type="str", duration=True, default=default,
                  description=list(description) + [DURATION_SYNTAX])
    schema.update(bounds)
    return schema


def duration_text(seconds):
    """A default given in seconds written as a duration (V(30s)), for the docs."""
    return "%gs" % seconds


def duration_seconds(name, value):
    """The seconds of a duration option's value; a number is seconds already (its bounds say
    whether it fits); InvalidOption naming the option for text outside the grammar."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(parse_duration(value))
    except ValueError as err:
        raise InvalidOption(name, str(err))


def _range_text(schema):
    """What a value must be, in the words the core uses for the same limits."""
    low, high, above = schema.get("minimum"), schema.get("maximum"), schema.get("above")
    if schema.get("type") == "int":
        if high is not None:
            return "must be a whole number from %d to %d" % (low, high)
        return "must be a whole number of at least %d" % low
    if above is not None and high is not None:
        return "must be more than %g and at most %g seconds" % (above, high)
    if high is not None:
        return "must be from %g to %g seconds" % (low, high)
    if above is None:
        return "must be at least %g seconds" % low
    return "must be a number above %g" % above


def _inside(value, schema):
    # Written as "inside" so that NaN, which compares false with everything, is outside.
    return ((schema.get("minimum") is None or value >= schema["minimum"])
            and (schema.get("above") is None or value > schema["above"])
            and (schema.get("maximum") is None or value <= schema["maximum"]))


def out_of_bounds(params, *groups):
    """``(name, what it must be)`` for the first value outside its bounds, else None."""
    for group in groups:
        for name, schema in group.items():
            value = params.get(name)
            if value is None:
                continue
            if schema.get("duration"):
                # A module's value is still text; the event source's is seconds already.
                try:
                    value = duration_seconds(name, value)
                except InvalidOption as err:
                    return name, str(err)[len(name) + 2:]
            if schema.get("non_empty") and not value:
                return name, "give at least one of %s" % ", ".join(schema["choices"])
            bounded = any(schema.get(key) is not None for key in ("minimum", "maximum", "above"))
            if bounded and not _inside(value, schema):
                return name, _range_text(schema)
    return None


def bounds_error(params, *groups):
    """The message for the first parameter outside its bounds, or None when all are inside."""
    found = out_of_bounds(params, *groups)
    return None if found is None else "%s: %s" % found


def pick(params, *groups):
    """The values of ``params`` named in the given option groups."""
    return dict((name, params.get(name)) for group in groups for name in group)


def coerce(name, value, kind):
    """A value given as text (an environment variable) or as YAML typed, as ``kind``; what
    Ansible does for modules and lookups, for a plugin that runs without it."""
    if value is None or kind in ("str", None):
        return value
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE + _FALSE:
                return text in _TRUE
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError(value)
            return int(float(value))
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if kind == "path":
            return os.path.expanduser(str(value))
    except (TypeError, ValueError, OverflowError):
        raise InvalidOption(name, "must be a %s" % _KIND_TEXT.get(kind, kind))
    return value


def typed_values(args, group, environ):
    """Each option of ``group``: its value in ``args``, else its first non-empty environment
    variable, coerced to its type; unset (or ``None``) is its default."""
    values = {}
    for name, schema in group.items():
        value = args.get(name)
        for variable in schema.get("env") or ():
            if value is None and environ.get(variable, "") != "":
                value = environ[variable]
        value = coerce(name, value, schema.get("type"))
        value = schema.get("default") if value is None else value
        if schema.get("duration") and value is not None:
            value = duration_seconds(name, value)
        values[name] = value
    return values
