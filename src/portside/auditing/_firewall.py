"""Read this namespace's firewall as chains: nftables (iptables-nft included) and iptables-legacy's filter tables.

Reuses doctor's reader (doctor/_ruleset.py): the same tools, timeouts and notes. Any rule
set that cannot be read makes the whole answer None with the reason, so no verdict is a guess.
"""

from __future__ import annotations

from portside.auditing.chains import Chain, parse_iptables_chains, parse_nft_chains
from portside.doctor._ruleset import _legacy_in_use, _run


def read_chains() -> tuple[tuple[Chain, ...] | None, str]:
    """Every chain of the firewall, or None and why it could not be read."""
    text, note = _run(["nft", "list", "ruleset"])
    if text is None:
        return None, str(note)
    chains = list(parse_nft_chains(text))
    for version, tool in ((4, "iptables-legacy"), (6, "ip6tables-legacy")):
        if _legacy_in_use(version):
            legacy, note = _run([f"{tool}-save", "-t", "filter"])
            if legacy is None:
                return None, str(note)
            chains.extend(parse_iptables_chains(legacy, version, tool))
    return tuple(chains), ""
