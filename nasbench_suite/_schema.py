"""Declarative schemas for the JSON the project reads from files it did not write itself.

A manifest (a table's, a surrogate artefact's) is checked against one schema value
built from the types below, before anything in it sizes an allocation or names a
file. Parsing is bounded too: :func:`parse_json` refuses text longer than a stated
limit, NaN and infinities, and nesting deeper than a stated depth.

Types (each checks a value and says where it breaks the schema)::

    Int(lo, hi)        an int (never a bool, never 1.0) in [lo, hi]
    Float(lo, hi)      a finite int or float in [lo, hi] (nullable=True: or null)
    Str(max_len, ...)  a str; ``pattern`` a full-match regex, ``name=True`` a plain name
    Bool(), Null()     true/false; null
    Seq(item, max_len) a list of ``item``
    Obj(fields, optional, extra)   an object with these fields (``extra``: schema of others, or None)
    Map(value, key, max_items)     an object with any keys of schema ``key``, values ``value``
    AnyOf(*schemas)    the first that fits
    Json(max_items)    any JSON value (depth is bounded by the parser)

Ground floor: the standard library only.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Ints a manifest may hold: what int64 stores.
INT64 = (-(2**63), 2**63 - 1)
#: Characters refused in names (datasets, metrics, targets): NUL, the other control
#: characters and '/', which HDF5 and file systems read as a separator.
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/]")


class SchemaViolation(ValueError):
    """A value breaks its schema; ``where`` is its JSON path (``datasets.cifar10.seeds[2]``)."""

    def __init__(self, where: str, reason: str):
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}" if where else reason)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(where: str, key: object) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else str(key)


class Schema:
    """Base of the schema types: ``check(value, where)`` raises :class:`SchemaViolation`."""

    def check(self, value: Any, where: str = "") -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Schema):
    lo: int = INT64[0]
    hi: int = INT64[1]

    def check(self, value: Any, where: str = "") -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaViolation(where, f"must be an integer, not {_describe(value)}")
        if not self.lo <= value <= self.hi:
            raise SchemaViolation(where, f"{_describe(value)} is outside [{self.lo}, {self.hi}]")


@dataclass(frozen=True)
class Float(Schema):
    lo: float = -math.inf
    hi: float = math.inf
    nullable: bool = False

    def check(self, value: Any, where: str = "") -> None:
        if value is None and self.nullable:
            return
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise SchemaViolation(where, f"must be a number, not {_describe(value)}")
        if isinstance(value, int) and abs(value) > 2**53:
            raise SchemaViolation(where, f"{_describe(value)} is too large")
        if not math.isfinite(value) or not self.lo <= value <= self.hi:
            raise SchemaViolation(where, f"{_describe(value)} is outside [{self.lo}, {self.hi}]")


@dataclass(frozen=True)
class Str(Schema):
    max_len: int = 10_000
    pattern: str | None = None
    name: bool = False  # a plain name: non-empty, no control character, no '/'
    choices: tuple[str, ...] = ()

    def check(self, value: Any, where: str = "") -> None:
        if not isinstance(value, str):
            raise SchemaViolation(where, f"must be a string, not {_describe(value)}")
        if len(value) > self.max_len:
            raise SchemaViolation(where, f"is longer than {self.max_len} characters")
        if self.choices and value not in self.choices:
            raise SchemaViolation(where, f"{_describe(value)} is not one of {', '.join(self.choices)}")
        if self.name and (not value or _BAD_NAME.search(value)):
            raise SchemaViolation(where, f"{_describe(value)} is not a name (empty, control character, '/')")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise SchemaViolation(where, f"{_describe(value)} does not have the expected form")


@dataclass(frozen=True)
class Bool(Schema):
    def check(self, value: Any, where: str = "") -> None:
        if not isinstance(value, bool):
            raise SchemaViolation(where, f"must be true or false, not {_describe(value)}")


@dataclass(frozen=True)
class Null(Schema):
    def check(self, value: Any, where: str = "") -> None:
        if value is not None:
            raise SchemaViolation(where, f"must be null, not {_describe(value)}")


@dataclass(frozen=True)
class Seq(Schema):
    item: Schema
    max_len: int = 1_000_000
    min_len: int = 0
    unique: bool = False
    increasing: bool = False

    def check(self, value: Any, where: str = "") -> None:
        if not isinstance(value, list):
            raise SchemaViolation(where, f"must be a list, not {_describe(value)}")
        if not self.min_len <= len(value) <= self.max_len:
            raise SchemaViolation(where, f"must hold {self.min_len} to {self.max_len} items: {len(value)}")
        for i, item in enumerate(value):
            self.item.check(item, _join(where, i))
        if self.increasing and any(a >= b for a, b in itertools.pairwise(value)):
            raise SchemaViolation(where, "must be strictly increasing")
        if self.unique and len(set(map(json.dumps, value))) != len(value):
            raise SchemaViolation(where, "must not repeat an item")


@dataclass(frozen=True)
class Obj(Schema):
    fields: Mapping[str, Schema]
    optional: Mapping[str, Schema] = field(default_factory=dict)
    extra: Schema | None = None  # schema of fields not named; None: none allowed
    max_extra: int = 1_000

    def check(self, value: Any, where: str = "") -> None:
        if not isinstance(value, dict):
            raise SchemaViolation(where, f"must be an object, not {_describe(value)}")
        for name, schema in self.fields.items():
            if name not in value:
                raise SchemaViolation(where, f"lacks the field {name!r}")
            schema.check(value[name], _join(where, name))
        others = [k for k in value if k not in self.fields and k not in self.optional]
        if others and self.extra is None:
            raise SchemaViolation(where, f"has unexpected field(s) {', '.join(map(repr, others[:5]))}")
        if len(others) > self.max_extra:
            raise SchemaViolation(where, f"has more than {self.max_extra} further fields")
        for name, schema in self.optional.items():
            if name in value:
                schema.check(value[name], _join(where, name))
        for name in others:
            self.extra.check(value[name], _join(where, name))  # type: ignore[union-attr]


@dataclass(frozen=True)
class Map(Schema):
    value: Schema
    key: Schema = Str(max_len=500)
    max_items: int = 100_000
    min_items: int = 0

    def check(self, value: Any, where: str = "") -> None:
        if not isinstance(value, dict):
            raise SchemaViolation(where, f"must be an object, not {_describe(value)}")
        if not self.min_items <= len(value) <= self.max_items:
            raise SchemaViolation(
                where, f"must hold {self.min_items} to {self.max_items} entries, not {len(value)}"
            )
        for k, v in value.items():
            self.key.check(k, _join(where, f"<key {_describe(k)}>"))
            self.value.check(v, _join(where, k))


@dataclass(frozen=True)
class AnyOf(Schema):
    options: tuple[Schema, ...]

    def __init__(self, *options: Schema):
        object.__setattr__(self, "options", options)

    def check(self, value: Any, where: str = "") -> None:
        best: SchemaViolation | None = None
        for option in self.options:
            try:
                option.check(value, where)
                return
            except SchemaViolation as exc:
                # The option that got furthest into the value says best what is wrong.
                if best is None or len(exc.where) >= len(best.where):
                    best = exc
        if best is not None:
            raise best


@dataclass(frozen=True)
class Json(Schema):
    """Any JSON value of at most ``max_items`` values in all (its depth is the parser's bound)."""

    max_items: int = 1_000_000

    def check(self, value: Any, where: str = "") -> None:
        count, stack = 0, [value]
        while stack:
            item = stack.pop()
            count += 1
            if count > self.max_items:
                raise SchemaViolation(where, f"holds more than {self.max_items} values")
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)


@dataclass(frozen=True)
class Check(Schema):
    """``schema``, then ``test(value)``, a further condition described by ``reason``."""

    schema: Schema
    test: Callable[[Any], bool]
    reason: str

    def check(self, value: Any, where: str = "") -> None:
        self.schema.check(value, where)
        if not self.test(value):
            raise SchemaViolation(where, self.reason)


def _refuse_constant(name: str) -> Any:
    raise SchemaViolation("", f"holds {name}, which is not JSON")


def parse_json(text: str | bytes, *, max_bytes: int, max_depth: int) -> Any:
    """Parse JSON text with stated bounds.

    Args:
        text: the JSON text (bytes are decoded as UTF-8).
        max_bytes: longer texts are refused before parsing.
        max_depth: objects and lists nested deeper are refused.

    Raises:
        SchemaViolation: too long, not UTF-8, not JSON, NaN or an infinity, or too deep.
    """
    if len(text) > max_bytes:
        raise SchemaViolation("", f"is longer than the limit of {max_bytes:,} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise SchemaViolation("", "is not UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise SchemaViolation("", f"is nested deeper than the limit of {max_depth}") from None
    except ValueError as exc:
        if isinstance(exc, SchemaViolation):
            raise
        raise SchemaViolation("", f"is not valid JSON ({exc})") from None
    if depth(value) > max_depth:
        raise SchemaViolation("", f"is nested deeper than the limit of {max_depth}")
    return value


def depth(value: Any) -> int:
    """Nesting depth of a JSON value (a scalar is 0, ``[]`` is 1), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
            deepest = max(deepest, level + 1)
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
            deepest = max(deepest, level + 1)
    return deepest
