"""One JSON object per listener and line (NDJSON), with the keys of `ls --json`'s listeners. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from portside.cli.render.shapes import listener_json
from portside.model import Listener


def lines(listeners: Iterable[Listener]) -> Iterator[str]:
    """Each listener as one line of JSON, without the newline."""
    for item in listeners:
        yield json.dumps(listener_json(item), separators=(",", ":"))
