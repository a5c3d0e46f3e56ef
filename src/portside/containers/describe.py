"""How a container is named to people: in messages, and in the engine commands portside suggests. Pure."""

from __future__ import annotations

from portside.model import Container, ContainerSource

SOURCES = {
    ContainerSource.API: "the engine's API",
    ContainerSource.STATE_FILE: "Docker's state files",
    ContainerSource.ARGV: "the stand-in's argv",
    ContainerSource.CGROUP: "its cgroup",
    ContainerSource.DNAT: "a DNAT rule",
}


def handle(container: Container) -> str | None:
    """What the engine's CLI accepts for the container: its name, else its short id; None when neither is known."""
    return container.name or (container.id[:12] if container.id else None)


def label(container: Container) -> str:
    """'docker container web1 (local/bb:1)', as far as it is known."""
    image = f" ({container.image})" if container.image else ""
    return f"{container.engine} container {handle(container) or '(unknown)'}{image}"


def engine_command(container: Container, verb: str) -> str:
    """`docker stop web1`, or how to find the container when it cannot be named."""
    name = handle(container)
    if name is None:
        return f"find it with `{container.engine} ps` and run `{container.engine} {verb} NAME`"
    return f"`{container.engine} {verb} {name}`"
