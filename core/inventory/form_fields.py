"""A deployment as a form: one field per inventory key, derived from the pydantic models.

Pure and UI-free: `DEPLOYMENT_FIELDS` lists every key of a [[deployments]] entry (the
nested [placement], [autoscale] and [vllm] tables' keys too) with its group, kind, help
text (the model's field docstring, the same words `fleetdeck schema` shows) and
default. `form_values` turns a deployment's data into the texts a form shows, and
`form_data` turns what a person typed back into data for the same models that the
loader validates; a text that cannot even be read as its kind is reported beside its
field. Secrets are references only: a secret field holds `env:NAME` or `file:PATH`,
never the value itself.
"""

from __future__ import annotations

import enum
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from fleetdeck.core.inventory.durations import format_duration
from fleetdeck.core.inventory.field_docs import document_fields
from fleetdeck.core.inventory.models import Autoscale, Deployment, Placement
from fleetdeck.core.inventory.secrets import SecretRef
from fleetdeck.core.inventory.toml_layout import inline_value
from fleetdeck.core.inventory.vllm_options import VllmOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class FieldKind(enum.Enum):
    TEXT = "text"  # a string, as typed
    INTEGER = "integer"
    NUMBER = "number"  # an integer or a decimal
    DURATION = "duration"  # "30s", "5m" or a number of seconds
    CHOICE = "choice"  # one of `choices` (booleans too: "true" / "false")
    TOML = "toml"  # a table or an array, written as TOML: { zone = "us" }, ["--x"]
    SECRET = "secret"  # env:NAME or file:PATH


@dataclass(frozen=True)
class FormField:
    key: str
    """The dotted key path inside the deployment: "model", "vllm.dtype"."""
    group: str
    kind: FieldKind
    help: str
    default: str
    """The default as the form shows it; "" when there is none (the key is unset)."""
    required: bool = False
    choices: tuple[str, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))


SECRET_HELP = (
    " Write env:NAME (an environment variable where fleetdeck runs) or file:PATH (a file"
    " on this machine); the form never holds the secret itself."
)

GROUPS = ("Deployment", "Secrets", "Placement", "Autoscale", "vLLM")


def _strip(annotation: Any) -> tuple[Any, bool]:
    """The annotation without Annotated[...] and `| None`; True when None is allowed."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation, optional
        else:
            return annotation, optional


def _kind(name: str, info: FieldInfo) -> tuple[FieldKind, tuple[str, ...]]:
    annotation, _ = _strip(info.annotation)
    if annotation is SecretRef:
        return FieldKind.SECRET, ()
    if get_origin(annotation) is Literal:
        return FieldKind.CHOICE, tuple(str(v) for v in get_args(annotation))
    if annotation is bool:
        return FieldKind.CHOICE, ("true", "false")
    if annotation is int:
        return FieldKind.INTEGER, ()
    if annotation is float:
        # A duration is a float parsed by parse_duration (maybe inside `| None`).
        durations = "parse_duration" in repr(info.metadata) + repr(info.annotation)
        return (FieldKind.DURATION if durations else FieldKind.NUMBER), ()
    if annotation is str:
        return FieldKind.TEXT, ()
    return FieldKind.TOML, ()


def _show_default(info: FieldInfo, kind: FieldKind) -> str:
    if info.is_required():
        return ""
    default = info.get_default(call_default_factory=True)
    if default is None or isinstance(default, BaseModel):
        return ""
    if kind is FieldKind.DURATION:
        return format_duration(default)
    return show_value(default)


def show_value(value: Any) -> str:
    """A value as a form field shows it (and `form_data` reads it back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    return _toml_value(value)


def _toml_value(value: Any) -> str:
    """A table or an array on one line, as TOML writes it."""
    item = inline_value(dict(value) if isinstance(value, Mapping) else list(value))
    return str(item.as_string()).strip()


def _fields_of(
    model: type[BaseModel], prefix: str, group: str, skip: frozenset[str] = frozenset()
) -> list[FormField]:
    document_fields()  # the help lines are the fields' docstrings
    found = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        kind, choices = _kind(name, info)
        help_text = " ".join((info.description or "").split())
        if kind is FieldKind.SECRET:
            help_text += SECRET_HELP
        found.append(
            FormField(
                key=f"{prefix}{name}",
                group=group,
                kind=kind,
                help=help_text,
                default=_show_default(info, kind),
                required=info.is_required(),
                choices=choices,
            )
        )
    return found


def _deployment_fields() -> tuple[FormField, ...]:
    nested = frozenset({"placement", "autoscale", "vllm"})
    own = _fields_of(Deployment, "", "Deployment", nested)
    main = [f for f in own if f.kind is not FieldKind.SECRET]
    secrets = [
        FormField(f.key, "Secrets", f.kind, f.help, f.default, f.required, f.choices)
        for f in own
        if f.kind is FieldKind.SECRET
    ]
    autoscale = [
        # Required inside [autoscale], but the table itself is optional.
        FormField(f.key, f.group, f.kind, f.help, f.default, False, f.choices)
        for f in _fields_of(Autoscale, "autoscale.", "Autoscale")
    ]
    return (
        *main,
        *secrets,
        *_fields_of(Placement, "placement.", "Placement"),
        *autoscale,
        *_fields_of(VllmOptions, "vllm.", "vLLM"),
    )


DEPLOYMENT_FIELDS: tuple[FormField, ...] = _deployment_fields()
"""Every key of a [[deployments]] entry, in the order the form shows them."""

FIELDS_BY_KEY: Mapping[str, FormField] = {f.key: f for f in DEPLOYMENT_FIELDS}


def form_values(data: Mapping[str, Any]) -> dict[str, str]:
    """What each field shows for `data` (a deployment as the inventory holds it):
    "" for a key that is not written (the field's default applies)."""
    values = {f.key: "" for f in DEPLOYMENT_FIELDS}
    for spec in DEPLOYMENT_FIELDS:
        value: Any = data
        for part in spec.path:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            continue
        if spec.kind is FieldKind.SECRET and isinstance(value, Mapping):
            values[spec.key] = _show_secret(value)
        else:
            values[spec.key] = show_value(value)
    return values


def _show_secret(ref: Mapping[str, Any]) -> str:
    if "env" in ref:
        return f"env:{ref['env']}"
    if "file" in ref:
        return f"file:{ref['file']}"
    return ""


@dataclass(frozen=True)
class FormData:
    data: dict[str, Any]
    """The deployment as inventory data: only the keys that were filled in."""
    errors: dict[str, str]
    """Field key -> why its text cannot be read as its kind (before any model check)."""


def form_data(values: Mapping[str, str]) -> FormData:
    """The deployment `values` (field key -> text as typed) describe; empty fields are
    left out, so the model's default applies and the inventory stays as short as the
    user wrote it."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in DEPLOYMENT_FIELDS:
        text = values.get(spec.key, "")
        if not text.strip():
            continue
        try:
            value = read_value(spec, text)
        except ValueError as exc:
            errors[spec.key] = str(exc)
            continue
        target = data
        for part in spec.path[:-1]:
            target = target.setdefault(part, {})
        target[spec.path[-1]] = value
    return FormData(data, errors)


def read_value(spec: FormField, text: str) -> Any:
    """The value `text` means in `spec`'s field; ValueError says what it should look like."""
    text = text.strip() if spec.kind is not FieldKind.TEXT else text
    if spec.kind is FieldKind.TEXT:
        return text
    if spec.kind is FieldKind.INTEGER:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
    if spec.kind in (FieldKind.NUMBER, FieldKind.DURATION):
        for convert in (int, float):
            try:
                return convert(text)
            except ValueError:
                pass
        if spec.kind is FieldKind.DURATION:
            return text  # "30s": the model's duration type judges it
        raise ValueError(f"expected a number, got {text!r}")
    if spec.kind is FieldKind.CHOICE:
        if spec.choices == ("true", "false"):
            if text in ("true", "false"):
                return text == "true"
            raise ValueError(f"expected true or false, got {text!r}")
        return text  # the model's Literal says which choices there are
    if spec.kind is FieldKind.SECRET:
        return _read_secret(text)
    return _read_toml(text)


def _read_secret(text: str) -> dict[str, str]:
    source, sep, where = text.partition(":")
    if sep and source.strip() in ("env", "file") and where.strip():
        return {source.strip(): where.strip()}
    raise ValueError(
        "write env:NAME or file:PATH, where the secret is kept; never the secret itself"
    )


def _read_toml(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(
            f'expected a TOML value such as {{ zone = "us" }} or ["--flag", "x"]: {exc}'
        ) from None
