"""Dev servers that ignore `PORT`: the flags that give them the port instead. Pure.

Vite, Astro and Angular CLI read their port from a flag (or a config file), never from
the environment, so `portside run` appends the flag for them unless the command already
sets one. For anything started through a script (`npm run dev`), pass it yourself:
`portside run web -- npm run dev -- --port {port}`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

RUNNERS = frozenset({"npx", "pnpx", "bunx", "pnpm", "yarn", "bun"})
RUNNER_WORDS = frozenset({"exec", "dlx", "x"})
STRICT = ("--host", "127.0.0.1")
TOOLS: dict[str, tuple[str, ...]] = {
    "vite": ("--port", "{port}", "--strictPort", *STRICT),
    "astro": ("--port", "{port}", *STRICT),
    "ng": ("--port", "{port}", *STRICT),
}
NEEDS_SUBCOMMAND = {"ng": "serve", "astro": "dev"}
DOCUMENTED = tuple(sorted(TOOLS))


def _tool(argv: Sequence[str]) -> str | None:
    words = [os.path.basename(word) for word in argv if not word.startswith("-")]
    while words and (words[0] in RUNNERS or words[0] in RUNNER_WORDS):
        words = words[1:]
    return words[0] if words else None


def with_port_flags(argv: Sequence[str], port: int) -> list[str]:
    """`argv` with the port flags its tool needs appended (unchanged when it sets --port itself or needs none)."""
    tool = _tool(argv)
    flags = TOOLS.get(tool or "")
    if flags is None or any(word == "--port" or word.startswith("--port=") for word in argv):
        return list(argv)
    wanted = NEEDS_SUBCOMMAND.get(tool or "")
    if wanted is not None and wanted not in argv:
        return list(argv)
    return [*argv, *(flag.replace("{port}", str(port)) for flag in flags)]
