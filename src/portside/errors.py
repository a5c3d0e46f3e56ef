"""One exception hierarchy; the CLI maps each class to an exit code and a one-line message.

As in urllib3, an error that is also a builtin's kind subclasses that builtin too, so
callers may catch `ValueError` or `PortsideError` alike, and parse errors keep the input.
"""

from __future__ import annotations

from portside._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portside.model import KillReport


class PortsideError(Exception):
    """Root of every error portside raises on purpose."""


class UsageError(PortsideError, ValueError):
    """The caller asked for something malformed or unsafe (exit code 2)."""


class TargetError(UsageError):
    """A target (port, address, URL) that does not parse; keeps the offending text."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"invalid target {text!r}: {reason}")


class RefusedError(UsageError):
    """A request refused for safety, such as signalling pid 1 or portside itself."""


class InventoryError(PortsideError, OSError):
    """The machine's socket or process tables could not be read."""


class NothingListens(PortsideError):
    """No socket holds the target (exit 1)."""


class KillError(PortsideError):
    """Signalling the owners of a port failed for a reason other than a refusal (exit 1)."""


class StillHeld(KillError):
    """The port is still held after signalling, or by an owner portside cannot see (exit 1)."""


class ContainerHeld(KillError):
    """The port is a container's, held by its engine's stand-in (docker-proxy, conmon, rootlessport), which
    portside never signals: stop the container instead (exit 1). `report` says what `kill` found (nothing was
    signalled), when it got that far."""

    def __init__(self, message: str, report: KillReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class EngineError(PortsideError):
    """A container engine's API could not be used: no socket, no answer in time, or an answer that does not
    parse (exit 1). Inventories turn it into a note."""


class PolicyError(UsageError):
    """An audit policy file that does not parse or holds a key of the wrong kind; the message names the key (exit 2)."""


class EmptyPool(UsageError):
    """The requested range has no port left once the kernel's ports are taken out (exit 2)."""


class StateFileError(UsageError):
    """The state file exists but is not portside's store; it is left untouched (exit 2)."""


class StateDirError(StateFileError):
    """The state directory cannot be used: unsafe (another user's, or writable by others), a file of the store that
    is not a regular file, or, for writes, read-only or full (exit 2)."""


class PlatformError(UsageError):
    """This platform lacks what the request needs, such as pidfds to signal safely (exit 2)."""


class PoolExhausted(PortsideError):
    """Every port of the pool is leased or in use (exit 1)."""


class LeaseHeld(PortsideError):
    """A named lease belongs to another live owner (exit 1)."""


class WaitTimeout(PortsideError):
    """The deadline passed before every target was ready (exit 1)."""


class ServiceFailed(PortsideError):
    """The service exited, or did not answer in time, before it was ready (exit 1)."""


class RouteHeld(PortsideError):
    """A name is routed to a live `portside run` of another process (exit code 1)."""
