"""Docker's own record of its containers, read when its API does not answer.

DATA_ROOT/containers/ID/config.v2.json (name, image, state, addresses, ports) and
hostconfig.json (the port bindings) are what dockerd writes for each container; the
data root comes from the running dockerd's argv (daemons.py). Reading needs root: the
directory is private to it. Only the containers asked for are read.
"""

from __future__ import annotations

import os

from portside.containers.daemons import data_root
from portside.containers.engineapi import EngineContainer, inspected
from portside.errors import EngineError
from portside.model import Engine


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def docker_states(dockerd_argvs: list[tuple[str, ...]], ids: list[str]) -> tuple[tuple[EngineContainer, ...], list[str]]:
    """The containers `ids` as the running dockerds' state files describe them, and notes on what could not be read."""
    found = []
    notes = []
    for root in dict.fromkeys(data_root(argv) for argv in dockerd_argvs):
        folder = os.path.join(root, "containers")
        if not os.access(folder, os.R_OK | os.X_OK):
            notes.append(f"Docker's state files under {folder} could not be read (they need root)")
            continue
        for cid in ids:
            config = _read(os.path.join(folder, cid, "config.v2.json"))
            if config is None:
                continue
            try:
                found.append(inspected(config, Engine.DOCKER, _read(os.path.join(folder, cid, "hostconfig.json"))))
            except EngineError as error:
                notes.append(f"Docker's state file of {cid[:12]} does not parse: {error}")
    return tuple(found), notes
