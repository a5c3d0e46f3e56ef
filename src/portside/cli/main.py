"""The `portside` command: parse arguments, run one verb, map errors to exit codes.

This is the one place that turns `PortsideError` into a message and an exit status
(after httpie's core.py): 0 success, 1 the check said no, 2 usage or input error,
70 an unexpected error (a bug: rerun with --traceback), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from portside._version import __version__
from portside.cli.environment import Environment
from portside.errors import PortsideError, UsageError

EXIT_OK = 0
EXIT_NO = 1
EXIT_USAGE = 2
EXIT_BUG = 70  # sysexits.h EX_SOFTWARE
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
VERBS = ("ls", "who", "watch", "kill", "pick", "leases", "release", "wait", "probe", "doctor", "audit", "run", "alias",
         "routes", "proxy", "dashboard", "trust", "completion", "export", "exporter")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises instead of printing its own multi-line text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser(verbs: Sequence[str] = VERBS) -> argparse.ArgumentParser:
    """The argument parser with `verbs`; only their modules are imported (start-up time)."""
    parser = _Parser(prog="portside", description="The services on this machine: who listens where, and control.")
    parser.add_argument("--version", action="store_true", help="print portside's version and exit")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of an unexpected error")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for name in verbs:
        importlib.import_module(f"portside.cli.{name}").add_parser(subparsers)
    for verb_parser in subparsers.choices.values():  # accepted after the verb too (not listed there); main reads argv
        verb_parser.add_argument("--traceback", action="store_true", help=argparse.SUPPRESS)
    return parser


def _needed(argv: list[str]) -> Sequence[str]:
    """The verbs whose parsers `argv` needs: the one it names; none for `--version` or the bare overview."""
    verb = next((arg for arg in argv if not arg.startswith("-")), None)
    if verb in VERBS:
        return (verb,)
    if verb is None and "-h" not in argv and "--help" not in argv:
        return ()
    return VERBS


def _wants_traceback(argv: list[str]) -> bool:
    """`--traceback` before or after the verb, but before a `--` (after it comes `run`'s command and its options)."""
    return "--traceback" in (argv[: argv.index("--")] if "--" in argv else argv)


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting, so tests can call it."""
    env = env or Environment.of_process()
    args_list = list(sys.argv[1:] if argv is None else argv)
    traceback = _wants_traceback(args_list)
    try:
        args = build_parser(_needed(args_list)).parse_args(args_list)
        if args.version:
            env.stdout.write(f"portside {__version__}\n")
            return EXIT_OK
        if args.verb is None:
            env.stdout.write(build_parser().format_help())
            return EXIT_OK
        status: int = args.run(args, env)
        return status
    except UsageError as error:
        env.stderr.write(f"portside: error: {error}\n")
        return EXIT_USAGE
    except PortsideError as error:
        env.stderr.write(f"portside: {error}\n")
        return EXIT_NO
    except KeyboardInterrupt:
        env.stderr.write("portside: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:
        if traceback:
            raise
        env.stderr.write(f"portside: unexpected error: {type(error).__name__}: {error} (rerun with --traceback)\n")
        return EXIT_BUG


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
