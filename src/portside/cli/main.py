"""The `portside` command: parse arguments, run one verb, map errors to exit codes.

This is the one place that turns `PortsideError` into a message and an exit status
(after httpie's core.py): 0 success, 1 the check said no, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from portside.cli.environment import Environment
from portside.errors import PortsideError, UsageError

EXIT_OK = 0
EXIT_NO = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises instead of printing its own multi-line text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    from portside.cli import kill, ls, who

    parser = _Parser(prog="portside", description="The services on this machine: who listens where, and control.")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of an unexpected error")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    verbs.required = True
    for module in (ls, who, kill):
        module.add_parser(verbs)
    return parser


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting, so tests can call it."""
    env = env or Environment()
    args_list = list(sys.argv[1:] if argv is None else argv)
    traceback = "--traceback" in args_list
    try:
        args = build_parser().parse_args(args_list)
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
