"""`portside completion SHELL`: a completion script for bash, zsh or fish, written by shtab from the parser.

shtab reads the very argparse parser the CLI runs, so the script knows every verb and flag
without a copy kept by hand. It is imported here only: other verbs pay nothing for it.
"""

from __future__ import annotations

import argparse

from portside.cli.environment import Environment

SHELLS = ("bash", "zsh", "fish")
INSTALL = """\
Install it once:
  portside completion bash > ~/.local/share/bash-completion/completions/portside
  portside completion zsh > "${fpath[1]}/_portside"
  portside completion fish > ~/.config/fish/completions/portside.fish"""


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for every verb, flag and choice.",
        epilog=INSTALL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    import shtab

    from portside.cli.main import build_parser

    env.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    return 0
