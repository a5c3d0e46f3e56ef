"""`portside dashboard`: open the dashboard the proxy serves at http://portside.localhost:PROXYPORT/.

Starts the proxy if none runs (as `run` and `alias` do), makes the per-user token if there is
none, and opens the browser on a URL that hands the token over once (`/auth?token=...`: the
proxy sets a SameSite=Strict, HttpOnly cookie and redirects to `/`). `--no-open` prints that URL;
`--json` prints `{"url": ...}` and opens nothing (a script opens it). docs/dashboard.md.
"""

from __future__ import annotations

import argparse

from portside.cli.environment import Environment
from portside.cli.render.shapes import dashboard_json
from portside.cli.render.tables import write_json


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("dashboard", help="open the dashboard at portside.localhost (starts the proxy if need be)")
    parser.add_argument("--no-open", action="store_true", help="print the URL instead of opening a browser")
    parser.add_argument("--https", action="store_true", help="the https:// URL (makes the local CA on first use)")
    parser.add_argument("--json", action="store_true", help='print {"url": ...} and open nothing (docs/json.md)')
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    from urllib.parse import quote

    from portside.router.control import start
    from portside.web.auth import HANDOVER, origin_of
    from portside.web.token import dashboard_token

    token = dashboard_token()
    proxy, _ = start(https=args.https)
    url = f"{origin_of('https' if args.https else 'http', proxy.port)}{HANDOVER}?token={quote(token)}"
    if args.json:
        write_json(env, dashboard_json(url))
        return 0
    if not args.no_open:
        import webbrowser

        if webbrowser.open(url):
            env.stderr.write("portside: opened the dashboard in your browser\n")
            return 0
        env.stderr.write("portside: no browser found; open this URL (it holds your dashboard token):\n")
    env.stdout.write(url + "\n")
    return 0
