"""The CLI's shared helpers: one NAME=VALUE parser, one comma list, one seed parser, one progress."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nasbench_suite import _progress
from nasbench_suite.cli import UsageError
from nasbench_suite.cli._options import comma_list, parse_assignments, parse_seeds, parse_value


def _old_search_options(pairs):
    """``cli/search.py``'s ``_options`` before the two parsers became one (the reference)."""
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--option {pair!r}: expected NAME=VALUE")
        try:
            options[name] = json.loads(value)
        except json.JSONDecodeError:
            options[name] = value
    return options


def _outcome(parse, pairs):
    try:
        return parse(pairs)
    except UsageError as exc:
        return ("error", str(exc))


pair_text = st.text(alphabet="ab.=1[] \"'-e,{}:", max_size=12) | st.sampled_from(
    ["a=1", "a=1.5", "a=true", "a=null", "a=[1, 2]", 'a="x"', "a=x", "a=", "=1", "a", "m.p=3", "m.=1", ".p=1"]
)


@given(st.lists(pair_text, max_size=4))
def test_plain_pairs_parse_as_the_search_option_parser_did(pairs):
    assert _outcome(lambda p: parse_assignments(p, "--option"), pairs) == _outcome(_old_search_options, pairs)


def test_model_pairs_and_values():
    assert parse_assignments(["m.a=1", "m.b=x", "n.c=[1]", "m.a=2"], "--param", ["m", "n"]) == {
        "m": {"a": 2, "b": "x"},
        "n": {"c": [1]},
    }
    for bad, message in (("m=1", "MODEL.NAME=VALUE"), ("m.a", "MODEL.NAME=VALUE"), ("z.a=1", "not among")):
        with pytest.raises(UsageError, match=message):
            parse_assignments([bad], "--param", ["m"])
    assert parse_value("0.5") == 0.5 and parse_value("rf") == "rf" and parse_value("") == ""


def test_comma_lists_and_seeds():
    assert comma_list(" a, b,,c ", "--x") == ["a", "b", "c"]
    with pytest.raises(UsageError, match="--datasets ' , ': expected a comma-separated list"):
        comma_list(" , ", "--datasets")
    assert parse_seeds("0-2,7") == [0, 1, 2, 7]
    with pytest.raises(UsageError, match="distinct"):
        parse_seeds("1,0-2")


def test_progress_counts_when_hidden_and_draws_when_forced(capsys):
    with _progress.Progress("work", 3) as bar:
        bar.advance()
        bar.advance(failed=True)
        bar.update(3, 4)
    assert (bar.done, bar.failed, bar.total) == (3, 1, 4) and capsys.readouterr().err == ""
    assert _progress.step_printer() is None
    _progress.enable(True)
    try:
        with _progress.Progress("training", 2, rate_unit="runs", transient=False) as bar:
            bar.advance(failed=True)
            bar.advance()
        assert list(_progress.track(range(3), "reading")) == [0, 1, 2]
        say = _progress.step_printer()
        assert say is not None
        say("fit [xgb] n=20")
    finally:
        _progress.enable(None)
    err = capsys.readouterr().err
    assert "training" in err and "1 failed" in err and "runs/h" in err and "  fit [xgb] n=20" in err
