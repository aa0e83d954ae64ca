"""Parsing of the command line's small languages: ``NAME=VALUE`` options, comma lists, seeds.

One copy of each, shared by every command group, so that ``--option`` of ``search``
and ``--param`` of ``surrogate`` read values the same way. Every malformed input is a
:class:`~nasbench_suite.cli.UsageError` naming the flag and the text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nasbench_suite.cli import UsageError


def parse_value(text: str) -> Any:
    """The JSON value ``text`` spells (``3``, ``0.5``, ``true``, ``[1, 2]``), else ``text`` itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_assignments(pairs: Sequence[str], flag: str, models: Sequence[str] | None = None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs -> ``{name: value}``, each value read by :func:`parse_value`.

    With ``models``, the pairs are ``MODEL.NAME=VALUE`` -> ``{model: {name: value}}``, and
    each model must be one of ``models``. A later pair for the same name wins.

    Args:
        pairs: the texts given to a repeatable option.
        flag: the option, for messages (``"--option"``, ``"--param"``).
        models: None for plain pairs; else the model names a pair may address.

    Raises:
        UsageError: a pair without ``=`` or without a name, or (with ``models``) without
            ``MODEL.`` or naming a model not in ``models``.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if models is None:
            if not sep or not name:
                raise UsageError(f"{flag} {pair!r}: expected NAME=VALUE")
            out[name] = parse_value(value)
            continue
        model, dot, param = name.partition(".")
        if not sep or not dot or not model or not param:
            raise UsageError(f"{flag} {pair!r}: expected MODEL.NAME=VALUE")
        if model not in models:
            raise UsageError(f"{flag} {pair!r}: model {model!r} is not among --model {','.join(models)}")
        out.setdefault(model, {})[param] = parse_value(value)
    return out


def generator_seed(text: str) -> int:
    """An ``argparse`` type: a seed of ``numpy.random.default_rng``, an integer >= 0.

    Raises:
        argparse.ArgumentTypeError: anything else (argparse prints one line and exits 2).
    """
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, not {value}")
    return value


def comma_list(text: str, flag: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]`` (blank items dropped).

    Raises:
        UsageError: naming ``flag``, when no item is left.
    """
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not items:
        raise UsageError(f"{flag} {text!r}: expected a comma-separated list")
    return items


def parse_seeds(text: str, flag: str = "--seeds") -> list[int]:
    """'0-29' -> 0..29, '1,4,7' -> [1, 4, 7], '5' -> [5].

    Raises:
        UsageError: for anything else, or seeds that repeat or are negative.
    """
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                low, high = part.split("-", 1)
                lo, hi = int(low), int(high)
                if hi < lo:
                    raise ValueError
                seeds += range(lo, hi + 1)
            else:
                seeds.append(int(part))
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected '0-29', '1,4,7' or one seed") from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise UsageError(f"{flag} {text!r}: seeds must be distinct and >= 0")
    return seeds
