"""Read the firewall: `nft -a list ruleset`, and iptables-legacy's tables when they are loaded.

The filter rules feed doctor's judgement; the nat rules (`nat_listings`) show containers'
published ports that exist only as DNAT (containers/dnat.py parses them).

Reading needs root (CAP_NET_ADMIN); without it the rules come back empty with a note
saying why. The legacy tools run only when /proc/net/ip*_tables_names shows legacy
tables in use, so reading never loads a kernel module.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from portside._typing import NamedTuple
from portside.doctor.firewall import FirewallRule, parse_iptables_save, parse_nft

SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
TIMEOUT = 2.0


class Ruleset(NamedTuple):
    rules: tuple[FirewallRule, ...]
    notes: tuple[str, ...]


def _run(command: list[str]) -> tuple[str | None, str | None]:
    path = shutil.which(command[0], path=os.environ.get("PATH", "") + ":" + SBIN)
    if path is None:
        return None, f"{command[0]} is not installed: its rules were not read"
    try:
        done = subprocess.run([path, *command[1:]], capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"{command[0]} could not be read ({error})"
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return None, f"{command[0]} rules could not be read: {reason}"
    return done.stdout, None


def _legacy_in_use(version: int) -> bool:
    try:
        with open(f"/proc/net/ip{'6' if version == 6 else ''}_tables_names") as names:
            return bool(names.read().strip())
    except OSError:
        return False


def ruleset() -> Ruleset:
    """Every drop/reject rule and drop policy this network namespace's firewall holds."""
    text, note = _run(["nft", "-a", "list", "ruleset"])
    rules = list(parse_nft(text or ""))
    notes = [note] if note else []
    for version, tool in ((4, "iptables-legacy"), (6, "ip6tables-legacy")):
        if _legacy_in_use(version):
            legacy, note = _run([f"{tool}-save", "-t", "filter"])
            rules.extend(parse_iptables_save(legacy or "", version, tool))
            notes.extend([note] if note else [])
    return Ruleset(tuple(rules), tuple(notes))


def nat_listings() -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The rules that rewrite destinations, as text: ("nft", the nftables ruleset, iptables-nft's rules included)
    and ("iptables", iptables-legacy-save's nat table) where legacy tables are loaded; and notes on what was unread."""
    text, note = _run(["nft", "list", "ruleset"])
    listings = [("nft", text)] if text is not None else []
    notes = [note] if note else []
    for version, tool in ((4, "iptables-legacy"), (6, "ip6tables-legacy")):
        if _legacy_in_use(version):
            legacy, note = _run([f"{tool}-save", "-t", "nat"])
            listings.extend([("iptables", legacy)] if legacy is not None else [])
            notes.extend([note] if note else [])
    return tuple(listings), tuple(notes)
