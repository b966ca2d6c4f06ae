"""``searchQuery`` validation and evaluation.

8x8 documents the operators per kind of field and the filter spellings (see docs/8x8-api-notes.md,
“Filters (`searchQuery`)”); where it is silent, the points marked *choice* are the simulator's.

* text/id/enumeration fields take ``in, not-in, contains, is-empty, is-not-empty``; numeric fields
  (counts, durations) ``=, !=, >, >=, <, <=, is-empty, is-not-empty``; timestamps are not filterable.
* Enumerations compare case-insensitively and accept the returned spelling as well as the filter
  spelling (``inbound`` ≡ ``InboundDir``) (*choice*). Free text ``in``/``not-in`` compare exactly.
* ``contains`` is a case-insensitive substring match, on any element of an array (*choice*).
* On arrays ``in`` matches if any element is listed, ``not-in`` if none is (*choice*).
* Empty = null, ``""`` or ``[]``. The ``value`` of ``is-empty``/``is-not-empty`` is optional (*choice*).
* Duration literals ``1s``/``10m``/``3h``/``7d``; a bare number on a duration field is milliseconds.
* Filters see the true record values, before any injected malformation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from acdflow_dev.sim.catalog import NUM_OPERATORS, STR_OPERATORS, FieldSpec

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, None: 1}


class SearchError(ValueError):
    """A ``searchQuery`` the API rejects with 400."""


@dataclass(frozen=True)
class Filter:
    field: str
    operator: str
    predicate: Callable[[object], bool]


def _norm_enum(text: str) -> str:
    lowered = text.strip().lower()
    return lowered[:-3] if lowered.endswith("dir") and len(lowered) > 3 else lowered


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _number(value: object, duration: bool) -> float:
    if isinstance(value, bool):
        raise SearchError("Bad request: searchQuery value must be a number")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise SearchError("Bad request: searchQuery value must be a number")
    match = _DURATION.match(value)
    if match is None or (match.group(2) and not duration):
        raise SearchError(f"Bad request: Invalid searchQuery value '{value}'")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def _elements(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def compile_filters(raw: object, fields: dict[str, FieldSpec]) -> list[Filter]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SearchError("Bad request: Field 'searchQuery' must be an array")
    out: list[Filter] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise SearchError("Bad request: searchQuery entries must be objects")
        name, operator, value = entry.get("field"), entry.get("operator"), entry.get("value")
        if not isinstance(name, str) or name not in fields:
            raise SearchError(f"Bad request: Unknown searchQuery field '{name}'")
        spec = fields[name]
        if spec.filter == "nf":
            raise SearchError(f"Bad request: Field '{name}' is not filterable")
        allowed = STR_OPERATORS if spec.filter == "str" else NUM_OPERATORS
        if operator not in allowed:
            raise SearchError(f"Bad request: Operator '{operator}' is not allowed for field '{name}'")
        out.append(Filter(name, operator, _predicate(spec, operator, value)))
    return out


def _predicate(spec: FieldSpec, operator: str, value: object) -> Callable[[object], bool]:
    if operator == "is-empty":
        return lambda v: _duration_ms(v) is None if spec.fmt == "D" else _is_empty(v)
    if operator == "is-not-empty":
        return lambda v: _duration_ms(v) is not None if spec.fmt == "D" else not _is_empty(v)
    if value is None:
        raise SearchError(f"Bad request: searchQuery value is required for operator '{operator}'")
    if spec.filter == "num":
        target = _number(value, spec.fmt == "D")
        compare: dict[str, Callable[[float, float], bool]] = {
            "=": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
        }
        op = compare[operator]

        def numeric(v: object) -> bool:
            number = _duration_ms(v) if spec.fmt == "D" else (None if v is None else float(str(v)))
            return number is not None and op(number, target)

        return numeric
    enum = spec.fmt == "E" or spec.key in ("participantOfferAction", "participantType", "interactionLabels")
    norm: Callable[[str], str] = _norm_enum if enum else (lambda s: s)
    if operator == "contains":
        if not isinstance(value, str):
            raise SearchError("Bad request: searchQuery value of 'contains' must be a string")
        needle = value.lower()
        return lambda v: any(needle in e.lower() for e in _elements(v))
    wanted_raw = value if isinstance(value, list) else [value]
    if not all(isinstance(w, str | int | float) for w in wanted_raw):
        raise SearchError("Bad request: searchQuery value must be a string or an array of strings")
    wanted = {norm(str(w)) for w in wanted_raw}
    if operator == "in":
        return lambda v: any(norm(e) in wanted for e in _elements(v))
    return lambda v: not any(norm(e) in wanted for e in _elements(v))


def _duration_ms(value: object) -> float | None:
    if isinstance(value, tuple):
        return float(value[0])
    return None


def matches(filters: list[Filter], values: dict[str, object]) -> bool:
    return all(f.predicate(values.get(f.field)) for f in filters)
