"""Free ports: a pool outside the kernel's ephemeral range, leases in the store, owners that must live.

The kernel's port settings are read here for every capability that needs them (doctor
too), through `kernel_ports` and `unprivileged_port_start`.
"""

from __future__ import annotations

from portside.leasing._kernel import kernel_ports, unprivileged_port_start

__all__ = ["kernel_ports", "unprivileged_port_start"]
