"""The checks a spec field can fail, each raising ``SpecError`` that names the field by
its path (``combiner.top_k``) and says what was expected."""

from __future__ import annotations

import math
from dataclasses import fields

from sattn_dash.errors import SpecError

__all__ = ["choices", "is_number", "known_fields", "mapping", "number", "one_of", "positive_int"]


def choices(values) -> str:
    return ", ".join(repr(v) for v in values)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def positive_int(path: str, value, minimum: int = 1) -> None:
    if not _is_int(value) or value < minimum:
        raise SpecError(f"{path}: expected a whole number >= {minimum}, got {value!r}.")


def number(path: str, value, *, low: float, low_open: bool, high: float | None = None) -> None:
    ok = is_number(value) and (value > low if low_open else value >= low)
    if ok and high is not None:
        ok = value < high
    if not ok:
        bound = f"> {low}" if low_open else f">= {low}"
        if high is not None:
            bound += f" and < {high}"
        raise SpecError(f"{path}: expected a number {bound}, got {value!r}.")


def one_of(path: str, value, options, what: str) -> None:
    if value not in options:
        raise SpecError(f"{path}: unknown {what} {value!r}; choose one of {choices(options)}.")


def mapping(data, path: str) -> dict:
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected an object with named fields, got {type(data).__name__}.")
    return data


def known_fields(cls, data, path: str) -> dict:
    """``data`` as keyword arguments of the dataclass ``cls``; no field it lacks."""
    data = mapping(data, path)
    known = [f.name for f in fields(cls)]
    for key in data:
        if key not in known:
            raise SpecError(f"{path}.{key}: unknown field; known fields are {choices(known)}.")
    return dict(data)
