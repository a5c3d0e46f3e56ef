"""The `portside` command: parse arguments, run one verb, map errors to exit codes.

This is the one place that turns `PortsideError` into a message and an exit status
(after httpie's core.py): 0 success, 1 the check said no, 2 usage or input error,
70 an unexpected error (a bug: rerun with --traceback), 130 interrupted (Ctrl-C).

Start-up is a feature: the overview of verbs is built from the static table `VERBS`, and a
run imports the module of the one verb it names (`build_parser` with every verb is for
completion scripts and tests). argparse's help formatter is given the terminal's width, so
it never imports `shutil` (and with it bz2, lzma) just to ask for it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

from portside._version import __version__
from portside.cli.environment import Environment, terminal_width
from portside.errors import PortsideError, UsageError

EXIT_OK = 0
EXIT_NO = 1
EXIT_USAGE = 2
EXIT_BUG = 70  # sysexits.h EX_SOFTWARE
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
# Every verb and its one-line help, in the overview's order; each module's add_parser says the same (a unit test checks).
VERBS: dict[str, str] = {
    "ls": "list listening sockets and who owns them",
    "who": "show who holds a port: process tree, sockets, connections",
    "watch": "follow listeners live: a TUI on a terminal, or a stream of events (--json)",
    "kill": "end the processes that listen on a port",
    "pick": "lease free ports outside the kernel's ephemeral range",
    "leases": "list leased ports: name, owner pid, age, alive?",
    "release": "end the lease on a port or of a name",
    "wait": "wait until targets accept connections (or stop accepting)",
    "probe": "what answers at a target: TCP outcome and protocol per address",
    "doctor": "why a connection (or a server's bind) fails: findings, evidence, fixes",
    "audit": "what other machines can reach, proven against the firewall; exit 1 when the policy does not allow it",
    "run": "run a command on a leased port as http://NAME.localhost",
    "alias": "route NAME.localhost to a port served by something else",
    "routes": "the live NAME.localhost routes",
    "proxy": "the NAME.localhost reverse proxy: start, stop, status, serve",
    "dashboard": "open the dashboard at portside.localhost (starts the proxy if need be)",
    "trust": "add the local CA (made if missing) to the system and browser stores",
    "completion": "print a shell completion script (bash, zsh or fish)",
    "export": "print the listeners for Prometheus (--prometheus) or as NDJSON (--ndjson)",
    "exporter": "serve the listeners at /metrics for Prometheus to scrape",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises instead of printing its own multi-line text, and help is formatted
    at the terminal's width found without `shutil`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)

    def _get_formatter(self) -> argparse.HelpFormatter:
        return self.formatter_class(prog=self.prog, width=terminal_width() - 2)  # type: ignore[call-arg]


def build_parser(verbs: Iterable[str] = VERBS, *, others: bool = True) -> argparse.ArgumentParser:
    """The argument parser; the modules of `verbs` add their arguments, and with `others` every other verb is
    there as a name and a help line (for the overview, and to name the choices when a verb is unknown)."""
    chosen = set(verbs)
    parser = _Parser(prog="portside", description="The services on this machine: who listens where, and control.")
    parser.add_argument("--version", action="store_true", help="print portside's version and exit")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of an unexpected error")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for name, line in VERBS.items():
        if name in chosen:
            __import__(f"portside.cli.{name}", fromlist=["add_parser"]).add_parser(subparsers)  # importlib: 2 ms
        elif others:
            subparsers.add_parser(name, help=line)
    for verb_parser in subparsers.choices.values():  # accepted after the verb too (not listed there); main reads argv
        verb_parser.add_argument("--traceback", action="store_true", help=argparse.SUPPRESS)
    return parser


def _needed(argv: list[str]) -> tuple[str, ...]:
    """The verb whose arguments `argv` needs: the one it names; none for `--version`, `--help` or the overview."""
    verb = next((arg for arg in argv if not arg.startswith("-")), None)
    return (verb,) if verb in VERBS else ()


def _wants_traceback(argv: list[str]) -> bool:
    """`--traceback` before or after the verb, but before a `--` (after it comes `run`'s command and its options)."""
    return "--traceback" in (argv[: argv.index("--")] if "--" in argv else argv)


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting, so tests can call it."""
    env = env or Environment.of_process()
    args_list = list(sys.argv[1:] if argv is None else argv)
    traceback = _wants_traceback(args_list)
    try:
        needed = _needed(args_list)
        parser = build_parser(needed, others=not needed)
        args = parser.parse_args(args_list)
        if args.version:
            env.stdout.write(f"portside {__version__}\n")
            return EXIT_OK
        if args.verb is None:
            env.stdout.write(parser.format_help())
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
