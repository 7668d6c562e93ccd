"""Linux namespace primitives, shared by function sandboxes and database engines.

Python 3.11 has no os.unshare/os.setns/os.mount, so libc is called through ctypes.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import socket
import struct
from collections.abc import Iterator

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(
    source: str, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {source} on {target}",
    )


def umount(target: str, flags: int = MNT_DETACH) -> None:
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def unshare_mounts() -> None:
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    mount("none", "/", None, MS_REC | MS_PRIVATE)


def setns(fd: int, nstype: int) -> None:
    """Move the calling thread into the namespace `fd` refers to."""
    _check(_libc.setns(fd, nstype), "setns")


_home_net: list[int] = []  # an fd of the namespace the process started in, opened once


def _home_net_fd() -> int:
    if not _home_net:
        _home_net.append(os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC))
    return _home_net[0]


@contextlib.contextmanager
def in_net_namespace(fd: int) -> Iterator[None]:
    """Run the block in network namespace `fd`, then come home. Sockets made in the block
    belong to that namespace for good. Only this thread moves: the block must not await."""
    home = _home_net_fd()
    setns(fd, CLONE_NEWNET)
    try:
        yield
    finally:
        setns(home, CLONE_NEWNET)


SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1


def new_net_namespace() -> int:
    """A new network namespace with only its loopback interface, up; returns an fd that
    keeps it (and names it for setns). The calling thread stays where it was. ~0.3 ms."""
    home = _home_net_fd()
    _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifreq = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifreq))[1]
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
        return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        setns(home, CLONE_NEWNET)


PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int) -> None:
    """Have the kernel send `sig` to this process when its parent dies."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def mount_tmpfs(target: str, size_mb: int, mode: str = "1777") -> None:
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_mb}m,mode={mode}")


# -- sock_diag: the kernel's own socket table, one exact lookup at a time
NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, NLMSG_ERROR = 4, 20, 1, 2
DIAG_ANY = 0xFFFFFFFF  # (INET_DIAG_NOCOOKIE: do not check a cookie; all states)


def sock_diag(request: bytes) -> bytes:
    """Send one SOCK_DIAG_BY_FAMILY request (an inet_diag_req_v2 or unix_diag_req) and
    return the answer's message (after its netlink header); OSError if the kernel
    refuses or knows no such socket."""
    header = struct.pack("<IHHII", 16 + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as nl:
        nl.send(header + request)
        data = nl.recv(65536)
    length, kind = struct.unpack_from("<IH", data, 0)
    if kind == NLMSG_ERROR:
        err = -struct.unpack_from("<i", data, 16)[0]
        raise OSError(err, f"sock_diag: {os.strerror(err)}")
    return data[16:length]


def peer_uid(peer: tuple[str, int], local: tuple[str, int]) -> int | None:
    """The uid owning the peer's socket of an established IPv4 TCP connection between two
    addresses of this machine, in this network namespace (`peer` and `local` as
    getpeername/getsockname give them), or None if there is none (a remote peer, IPv6).

    TCP has no SO_PEERCRED; the kernel's socket table knows the owner. One exact
    sock_diag lookup by the 4-tuple: unlike scanning /proc/net/tcp, it cannot miss a
    socket because the table changed while it was being read."""
    try:
        src, dst = socket.inet_aton(peer[0]), socket.inet_aton(local[0])
    except OSError:
        return None
    # inet_diag_req_v2 for the peer's socket: its source is the peer, its destination us
    request = struct.pack("<BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, DIAG_ANY)
    request += struct.pack("!HH", peer[1], local[1]) + src + bytes(12) + dst + bytes(12)
    request += struct.pack("<III", 0, DIAG_ANY, DIAG_ANY)
    try:
        msg = sock_diag(request)
    except OSError:
        return None
    # inet_diag_msg: family, state, timer, retrans (4), sockid (48), expires, rqueue,
    # wqueue (12), uid
    return int(struct.unpack_from("<I", msg, 4 + 48 + 12)[0])
