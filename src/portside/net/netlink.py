"""The kernel's netlink and sock_diag numbers and layouts that both sock_diag readers share.

From linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h and net/tcp_states.h: the inventory's
dumps (inventory/_netlink.py) and the exact lookups of `wait` and `doctor` (net/sockdiag.py) speak
the same messages, so their numbers and layouts are written once, here.
"""

from __future__ import annotations

import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300

TCP_ESTABLISHED = 1
TCP_SYN_RECV = 3
TCP_CLOSE = 7
TCP_LISTEN = 10

NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
NLMSGERR = struct.Struct("=i")  # the error code after the header of an NLMSG_ERROR (0: an ack)
# inet_diag_msg from the start of its message: the nlmsghdr skipped, then family, state, timer,
# retrans | sport, dport (big-endian, read as native and swapped) | src, dst | interface, cookie
# (skipped) | expires (skipped), rqueue, wqueue, uid, inode.
DIAG_MESSAGE = struct.Struct("=16xBBxxHH16s16sI8x4xIIII")
