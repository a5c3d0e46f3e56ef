"""Where an engine's daemon keeps its state, from its argv. Pure.

dockerd takes `--data-root DIR` (`-g`/`--graph` before Docker 17.05), default
/var/lib/docker; under it `containers/ID/config.v2.json` and `hostconfig.json` describe
each container, which is the fallback when the API does not answer. A data root set
only in /etc/docker/daemon.json is not seen here.
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_DATA_ROOT = "/var/lib/docker"


def data_root(argv: Sequence[str]) -> str:
    """dockerd's data root as its argv gives it, else the default."""
    for index, word in enumerate(argv):
        for flag in ("--data-root", "--graph", "-g"):
            if word == flag and index + 1 < len(argv):
                return argv[index + 1]
            if word.startswith(flag + "="):
                return word[len(flag) + 1:]
    return DEFAULT_DATA_ROOT
