"""Listeners for other tools: Prometheus' text exposition (`prometheus`), one JSON object per listener
(`ndjson`), and the sampler that reads the machine for both (`sampler`).

`prometheus` and `ndjson` are pure; `sampler` reads the inventory, the leases and the TCP counters.
"""
