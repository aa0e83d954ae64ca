"""Strategy figures quoted in the docs are the committed results' figures.

A Markdown table in ``docs/`` whose header is ``dataset`` followed by strategy names
quotes figures of a committed leaderboard. It must say which, on the line before it:
``<!-- figures: results/nb201-table/leaderboard.md | final regret mean ± s.e. -->``
(a leaderboard file and one of its column headers), and every cell must be that
leaderboard's cell for the dataset and strategy. To regenerate such a table from the
committed results: ``python -m tests.test_doc_figures results/nb201-table/leaderboard.md
"final regret mean ± s.e." random rea ...``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from nasbench_suite import search
from nasbench_suite.experiments.protocol import STANDARD_STRATEGIES
from tests.support import REPO

MARKER = re.compile(r"<!--\s*figures:\s*(?P<path>\S+)\s*\|\s*(?P<column>.+?)\s*-->")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def leaderboard_cells(path: Path) -> dict[tuple[str, str, str], str]:
    """(dataset, strategy, column header) -> cell text of a written leaderboard."""
    cells: dict[tuple[str, str, str], str] = {}
    dataset, header = "", []
    for line in path.read_text().splitlines():
        heading = re.match(r"^## (\S+) \(budget", line)
        if heading:
            dataset, header = heading.group(1), []
        elif line.startswith("## "):  # a section that is no dataset's (the summary across datasets)
            dataset, header = "", []
        elif line.startswith("| strategy |"):
            header = _cells(line)
        elif dataset and header and line.startswith("| ") and not line.startswith("|---"):
            row = _cells(line)
            for name, value in zip(header[1:], row[1:]):
                cells[(dataset, row[0], name)] = value
    return cells


def quoted_tables(text: str) -> list[tuple[str | None, list[str], list[list[str]]]]:
    """Every ``dataset | strategy...`` table of a doc: (marker line or None, header, rows)."""
    strategies = set(STANDARD_STRATEGIES) | set(search.available())
    lines = [line.strip() for line in text.splitlines()]  # tables may sit indented in a list
    found = []
    for i, line in enumerate(lines):
        if not line.startswith("| dataset |"):
            continue
        header = _cells(line)
        if not header[1:] or not set(header[1:]) <= strategies:
            continue
        rows = []
        for row in lines[i + 2 :]:
            if not row.startswith("|"):
                break
            rows.append(_cells(row))
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), None)
        found.append((before, header, rows))
    return found


def test_strategy_figures_in_the_docs_are_the_committed_results():
    checked = 0
    for doc in sorted((REPO / "docs").glob("*.md")):
        for before, header, rows in quoted_tables(doc.read_text()):
            marker = MARKER.search(before or "")
            assert marker, f"{doc.name}: a strategy table without a '<!-- figures: FILE | COLUMN -->' line"
            cells = leaderboard_cells(REPO / marker["path"])
            for row in rows:
                for strategy, value in zip(header[1:], row[1:]):
                    expected = cells.get((row[0], strategy, marker["column"]))
                    assert value == expected, (
                        f"{doc.name}: {row[0]} / {strategy} quotes {value!r}; "
                        f"{marker['path']} has {expected!r}"
                    )
                    checked += 1
    assert checked > 0


def test_a_figure_the_results_do_not_hold_fails(tmp_path):
    board = tmp_path / "leaderboard.md"
    board.write_text(
        "## cifar100 (budget 5.5e+05 s)\n\n| strategy | runs | final regret mean ± s.e. |\n|---|---|---|\n"
        "| rea | 30 | 0.862 ± 0.138 |\n"
    )
    cells = leaderboard_cells(board)
    doc = (
        f"<!-- figures: {board} | final regret mean ± s.e. -->\n"
        "| dataset | rea |\n|---|---|\n| cifar100 | 0.9 |\n"
    )
    ((before, header, rows),) = quoted_tables(doc)
    marker = MARKER.search(before)
    assert marker and marker["column"] == "final regret mean ± s.e."
    assert cells[("cifar100", header[1], marker["column"])] == "0.862 ± 0.138" != rows[0][1]


def main(argv: list[str]) -> None:
    """Print a doc table of ``column`` for the named strategies from a leaderboard file."""
    path, column, *strategies = argv
    cells = leaderboard_cells(REPO / path)
    datasets = list(dict.fromkeys(d for d, _, _ in cells))
    print(f"<!-- figures: {path} | {column} -->")
    print("| dataset | " + " | ".join(strategies) + " |")
    print("|---" * (len(strategies) + 1) + "|")
    for dataset in datasets:
        print(f"| {dataset} | " + " | ".join(cells[(dataset, s, column)] for s in strategies) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
