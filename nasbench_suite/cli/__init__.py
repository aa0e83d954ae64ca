"""The ``nasbench`` command. Thin: parse arguments, call the library, print.

Each group of subcommands lives in its own module (``table``: import, info,
query, verify; one module per further group, listed in ``COMMAND_GROUPS``).

Bad input of any kind prints one line on stderr and exits 2 (``verify`` exits 1
when the table is corrupt; ``search`` exits 3 when the strategy is not applicable to the
benchmark, after recording that in its output file); no traceback is shown for errors a
person can fix.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_CORRUPT, EXIT_BAD_INPUT, EXIT_NOT_APPLICABLE = 0, 1, 2, 3

#: Modules of this package that add subcommands: each has ``add_commands(subparsers)``.
COMMAND_GROUPS: tuple[str, ...] = (
    "table",
    "search",
    "train",
    "surrogate",
    "proxies",
    "oneshot",
    "reproduce",
)


class UsageError(Exception):
    """Bad command-line arguments detected after parsing."""


class CommandParser(argparse.ArgumentParser):
    """Argument parser whose errors are one line and exit 2 (the `parser_class` of nested subparsers)."""

    def error(self, message: str) -> None:  # one line and exit 2, like every other bad input
        # self.prog is "nasbench" for the top level, "nasbench search" for a command.
        self.exit(EXIT_BAD_INPUT, f"nasbench: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from nasbench_suite import __version__

    parser = CommandParser(
        prog="nasbench",
        description="NAS benchmarks: tables, surrogates, search strategies, leaderboards, training.",
    )
    parser.add_argument("--version", action="version", version=f"nasbench-suite {__version__}")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress bars (default: when stderr is a terminal)",
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (one that registers a space, strategy, predictor or importer); repeatable",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)

    for group in COMMAND_GROUPS:
        importlib.import_module(f"nasbench_suite.cli.{group}").add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from nasbench_suite import _progress
    from nasbench_suite.errors import NasbenchError
    from nasbench_suite.provenance import record_command

    argv = list(sys.argv[1:] if argv is None else argv)
    record_command(["nasbench", *argv])  # reports written by this command say how it was called
    try:
        # Plugins first: what they register (an importer, a strategy) must be in the
        # parser's choices and in --help, and every command must find it by name.
        for module in plugin_modules(argv):
            import_plugin(module)
        parser = build_parser()
        args = parser.parse_args(argv)
        _progress.enable(args.progress)
        return args.run(args)
    except (NasbenchError, UsageError) as exc:
        print(f"nasbench: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"nasbench: error: {_os_error_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("nasbench: interrupted", file=sys.stderr)
        return 130


def plugin_modules(argv: Sequence[str]) -> list[str]:
    """The modules named by ``--plugin`` options in ``argv``, in order (nothing else is parsed)."""
    pre = _QuietParser(add_help=False)
    pre.add_argument("--plugin", action="append", default=[])
    try:
        known, _ = pre.parse_known_args(argv)
    except UsageError:  # e.g. a bare --plugin: the full parser says what is wrong
        return []
    return list(known.plugin)


class _QuietParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        raise UsageError(message)


def import_plugin(module: str) -> None:
    """Import a ``--plugin`` module (which registers spaces, strategies, predictors or importers).

    Raises:
        UsageError: naming the module, when importing it fails in any way.
    """
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(f"--plugin {module}: cannot import it ({exc})") from None
    except Exception as exc:  # a plugin's own code can fail in any way: one line naming it
        raise UsageError(f"--plugin {module}: importing it failed ({type(exc).__name__}: {exc})") from None


def _os_error_line(exc: OSError) -> str:
    """An OS error as one line: the file (when it has one), the reason and the errno's name."""
    import errno

    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno:
        reason += f" (errno {exc.errno}, {errno.errorcode.get(exc.errno, '?')})"
    where = f"{exc.filename}: " if exc.filename else ""
    return _one_line(f"{where}{reason}")


def _one_line(exc: BaseException | str) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= 500 else text[:497] + "..."
