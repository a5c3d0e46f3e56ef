"""Targets and names: parse what users type, classify addresses, resolve as clients do, durations."""
