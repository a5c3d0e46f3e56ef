"""What changes on this machine: successive inventories in, events out (`events`), bytes per
listener from the kernel's TCP counters (`traffic`), and the loop that samples both (`watcher`).

`events` and `traffic` are pure; `watcher` does the sampling through `portside.inventory`.
"""
