"""Linux namespace primitives, shared by function sandboxes and database engines.

Python 3.11 has no os.unshare/os.setns/os.mount, so libc is called through ctypes.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import re
import socket
import struct
from collections.abc import Iterator

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_NEWTIME = 0x00000080
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_NOEXEC = 8
MS_BIND = 4096
MS_MOVE = 8192
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


def mounts_under(*tops: str) -> list[str]:
    """Mount points strictly below any of `tops` in this mount namespace, deepest first."""
    prefixes = tuple(top.rstrip("/") + "/" for top in tops)
    with open("/proc/self/mounts") as f:  # (fields escape space, tab, newline, \\ in octal)
        targets = [
            re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[1])
            for line in f
        ]
    return sorted({t for t in targets if t.startswith(prefixes)}, reverse=True)


def unshare_mounts() -> None:
    unshare(CLONE_NEWNS, "CLONE_NEWNS")
    mount("none", "/", None, MS_REC | MS_PRIVATE)


def unshare(flags: int, what: str) -> None:
    _check(_libc.unshare(flags), f"unshare({what})")


def setns(fd: int, nstype: int, what: str = "") -> None:
    """Move the calling thread into the namespace `fd` refers to."""
    _check(_libc.setns(fd, nstype), f"setns({what})" if what else "setns")


def fork_in_new_pid_namespace(own_pid_ns: int) -> int:
    """os.fork(), the child being pid 1 of a new PID namespace. `own_pid_ns` is an fd of
    the caller's /proc/self/ns/pid: setns back to it after the fork lets the next call
    unshare again (unshare(CLONE_NEWPID) is refused while the children's namespace differs
    from the caller's own)."""
    unshare(CLONE_NEWPID, "CLONE_NEWPID")
    try:
        pid = os.fork()
    except OSError:
        setns(own_pid_ns, CLONE_NEWPID, "own PID namespace")
        raise
    if pid:  # (the child stays in its new namespace)
        setns(own_pid_ns, CLONE_NEWPID, "own PID namespace")
    return pid


def enter_new_time_namespace(boottime: float, monotonic: float) -> None:
    """Join a new time namespace whose CLOCK_BOOTTIME and CLOCK_MONOTONIC started at the
    given host clock values: /proc/uptime and /proc/stat's btime count from there.
    (unshare only applies to children; setns to that namespace moves the caller itself,
    which is allowed while nothing runs in it yet.)"""
    unshare(CLONE_NEWTIME, "CLONE_NEWTIME")
    lines = []
    for name, start in (("boottime", boottime), ("monotonic", monotonic)):
        ns = -int(start * 1e9)
        lines.append(f"{name} {ns // 1_000_000_000} {ns % 1_000_000_000}\n")
    with open("/proc/self/timens_offsets", "w") as f:
        f.write("".join(lines))
    fd = os.open("/proc/self/ns/time_for_children", os.O_RDONLY)
    try:
        setns(fd, CLONE_NEWTIME, "CLONE_NEWTIME")
    finally:
        os.close(fd)


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
    unshare(CLONE_NEWNET, "CLONE_NEWNET")
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


# -- a file system image on a loop device (an environment's /tmp on disk)
LOOP_CTL_GET_FREE, LOOP_CONFIGURE = 0x4C82, 0x4C0A
LO_FLAGS_AUTOCLEAR, LO_FLAGS_DIRECT_IO = 4, 16


def release_mount_dir(path: str) -> None:
    """Unmount (lazily) and remove a mount point, and its parent if that is left empty."""
    with contextlib.suppress(OSError):
        umount(path)
    with contextlib.suppress(OSError):
        os.rmdir(path)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(path))


def make_ext4_image(path: str, size_mb: int) -> None:
    """A sparse, empty ext4 image: no journal (nothing to recover in a /tmp), no blocks
    reserved for root, inode tables initialised lazily (~320 kB of data for 512 MB)."""
    import subprocess

    new = f"{path}.{os.urandom(6).hex()}.new"  # (two spares may make it at once)
    with open(new, "wb") as f:
        f.truncate(size_mb * 1024 * 1024)
    options = ["-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "lazy_itable_init=1"]
    subprocess.run(["mkfs.ext4", *options, new], check=True, capture_output=True)
    # an empty /tmp, as on AWS: without mkfs's lost+found
    subprocess.run(["debugfs", "-w", "-R", "rmdir lost+found", new], capture_output=True)
    os.replace(new, path)


def mount_image_copy(template: str, target: str) -> None:
    """Mount a private copy of an image (copied sparsely, ~0.5 ms) at `target`. The copy
    is unlinked once attached: the loop device holds it, and both go away (autoclear) with
    the last unmount. Direct I/O: the image's pages are not cached a second time."""
    copy = target.rstrip("/") + ".img"
    src = os.open(template, os.O_RDONLY)
    dst = os.open(copy, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.unlink(copy)
        os.ftruncate(dst, os.fstat(src).st_size)
        offset = 0
        while True:
            try:
                start = os.lseek(src, offset, os.SEEK_DATA)
            except OSError:  # ENXIO: no data after offset
                break
            end = os.lseek(src, start, os.SEEK_HOLE)
            while start < end:
                start += os.copy_file_range(src, dst, end - start, start, start)
            offset = end
        info = bytearray(232)  # struct loop_info64; lo_flags after 5 u64 and 3 u32
        struct.pack_into("<I", info, 52, LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO)
        config = struct.pack("<II", dst, 0) + info + bytes(64)  # struct loop_config
        for attempt in range(8):  # (another process may take the free device first)
            ctl = os.open("/dev/loop-control", os.O_RDWR)
            try:
                device = f"/dev/loop{fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)}"
            finally:
                os.close(ctl)
            loop = os.open(device, os.O_RDWR)
            try:
                try:
                    fcntl.ioctl(loop, LOOP_CONFIGURE, config)
                except OSError as e:
                    if e.errno == errno.EBUSY and attempt < 7:
                        continue
                    raise
                mount(device, target, "ext4", MS_NOSUID | MS_NODEV)
                return
            finally:
                os.close(loop)
    finally:
        os.close(src)
        os.close(dst)


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
