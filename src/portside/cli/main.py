"""The `portside` command: parse arguments, run one verb, map errors to exit codes.

This is the one place that turns `PortsideError` into a message and an exit status
(after httpie's core.py): 0 success, 1 the check said no, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from portside.cli.environment import Environment
from portside.errors import PortsideError, UsageError

EXIT_OK = 0
EXIT_NO = 1
EXIT_USAGE = 2
VERBS = ("ls", "who", "kill", "pick", "leases", "release", "wait", "probe", "doctor", "run", "alias", "routes", "proxy",
         "trust")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises instead of printing its own multi-line text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with `verb`, only that verb's module is imported (start-up time)."""
    parser = _Parser(prog="portside", description="The services on this machine: who listens where, and control.")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of an unexpected error")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    verbs.required = True
    for name in VERBS if verb not in VERBS else (verb,):
        importlib.import_module(f"portside.cli.{name}").add_parser(verbs)
    return parser


def _verb(argv: list[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting, so tests can call it."""
    env = env or Environment.of_process()
    args_list = list(sys.argv[1:] if argv is None else argv)
    traceback = "--traceback" in args_list
    try:
        args = build_parser(_verb(args_list)).parse_args(args_list)
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
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:
        if traceback:
            raise
        env.stderr.write(f"portside: unexpected error: {type(error).__name__}: {error} (rerun with --traceback)\n")
        return 70


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
