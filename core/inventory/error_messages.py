"""Pydantic's validation errors, retold in the inventory's own words.

The user never sees pydantic: no "input_type=...", no URLs, no Python type names; a
location in TOML names and a sentence that says what is expected.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from fleetdeck.core.inventory.fields import KEY_ERROR_TYPE
from fleetdeck.core.inventory.problems import KeyPath, did_you_mean, show_value, unknown_key_message

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "tuple_type": "an array",
    "list_type": "an array",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "greater than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def describe_validation_error(
    error: ValidationError, root: type[BaseModel], prefix: KeyPath = ()
) -> list[tuple[KeyPath, str]]:
    """(key path, message) for every error, with `prefix` put before each location."""
    described = []
    for detail in error.errors(include_url=False):
        loc = tuple(part for part in detail["loc"] if part != "[key]")
        path, message = _describe(detail, loc, root)
        described.append(((*prefix, *path), message))
    return described


def _describe(detail: ErrorDetails, loc: KeyPath, root: type[BaseModel]) -> tuple[KeyPath, str]:
    kind = detail["type"]
    ctx = detail.get("ctx", {})
    got = show_value(detail["input"])
    if kind == KEY_ERROR_TYPE:
        key = ctx["key"]
        inner = tuple(key) if isinstance(key, (tuple, list)) else (str(key),)
        return (*loc, *inner), str(ctx["message"])
    if kind == "missing":
        parent = annotation_at(root, loc[:-1])
        if loc and isinstance(loc[-1], int) and get_origin(parent) is tuple:
            # [8100] for [low, high]: pydantic reports the item that is not there
            return loc[:-1], _length_message(parent, {"actual_length": loc[-1]})
        if _is_model(annotation_at(root, loc)):
            return loc, "missing required table"
        return loc, "missing required key" + (f"; add {loc[-1]} = ..." if loc else "")
    if kind == "extra_forbidden":
        return loc, _unknown_key(root, loc)
    if kind in _EXPECTED:
        return loc, f"expected {_EXPECTED[kind]}, got {got}"
    if kind == "literal_error":
        return loc, _literal_message(annotation_at(root, loc), detail["input"])
    if kind in _BOUNDS:
        bound, words = _BOUNDS[kind]
        return loc, f"must be {words} {ctx[bound]}, got {got}"
    if kind in ("too_short", "too_long"):
        return loc, _length_message(annotation_at(root, loc), ctx)
    if kind == "value_error":
        return loc, str(ctx["error"])
    return loc, detail["msg"]


def _unknown_key(root: type[BaseModel], loc: KeyPath) -> str:
    key = str(loc[-1])
    parent = annotation_at(root, loc[:-1])
    if not _is_model(parent):
        return "unknown key"
    for name, field in parent.model_fields.items():
        child = _unwrap(field.annotation)
        if _is_model(child) and key in child.model_fields:  # a key written one table too high
            return f'unknown key here; "{key}" belongs in the {name} table ({name}.{key})'
    return unknown_key_message(key, parent.model_fields)


def _literal_message(annotation: Any, value: object) -> str:
    choices = [str(choice) for choice in get_args(annotation)]
    text = "expected one of " + ", ".join(f'"{choice}"' for choice in choices)
    text += f"; got {show_value(value)}"
    suggestion = did_you_mean(value, choices) if isinstance(value, str) else None
    return text + (f' (did you mean "{suggestion}"?)' if suggestion else "")


def _length_message(annotation: Any, ctx: dict[str, Any]) -> str:
    items = get_args(annotation)
    actual = ctx.get("actual_length")
    if get_origin(annotation) is tuple and items and items[-1] is not Ellipsis:
        return f"expected an array of exactly {len(items)} items, got {actual}"
    if "max_length" in ctx:
        return f"expected at most {ctx['max_length']} items, got {actual}"
    return f"expected at least {ctx.get('min_length')} items, got {actual}"


def annotation_at(root: type[BaseModel], loc: Sequence[str | int]) -> Any:
    """The declared type found by following `loc` from `root` (None when it leads nowhere)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        origin = get_origin(current)
        if isinstance(part, int) and origin in (tuple, list):
            args = get_args(current)
            current = args[0] if len(args) == 1 or args[-1] is Ellipsis else args[part]
        elif isinstance(part, str) and _is_model(current):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        elif origin is dict:
            current = get_args(current)[1]
        else:
            return None
    return _unwrap(current)


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and `| None`, which say nothing about the TOML shape."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
