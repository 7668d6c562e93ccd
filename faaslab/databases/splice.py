"""In-kernel splicing of endpoint connections (eBPF sockmap), when the kernel allows it.

A user-space proxy costs two extra process wake-ups per round trip: ~45 µs even for
socat (C) on this machine, ~110 µs for an asyncio proxy — more than PostgreSQL takes to
answer a point select (~45 µs). So once a client's TCP socket and the engine's Unix
socket are both connected, faaslab puts the pair in a BPF sockhash with a tiny SK_SKB
verdict program that hands every byte arriving on one socket straight to the other's
send path: no wake-up of faaslab at all. The sockets stay open in faaslab's event loop,
so it still sees hang-ups (and counts connections); bytes already queued when the pair is
installed still reach user space and are forwarded there, in order.

The program knows a socket by its cookie. For a TCP socket that is the cookie of the
socket the bytes arrived on; for a Unix socket it is the *sending* socket's (the engine's
end), which faaslab learns from sock_diag when it installs the pair.

The program (hand-assembled: no compiler or libbpf at run time, 21 instructions):

    r6 = r1                               ; the skb
    r0 = get_socket_cookie(skb)           ; which socket the bytes arrived on
    *(u64 *)(r10 - 8) = r0
    r0 = map_lookup_elem(&peers, r10 - 8) ; its partner's cookie
    if r0 == 0 goto pass                  ; not a spliced pair: normal delivery
    *(u64 *)(r10 - 16) = *(u64 *)(r0 + 0)
    return sk_redirect_hash(skb, &sockets, r10 - 16, 0)   ; to the partner's egress
pass:
    return SK_PASS

Needs root (CAP_BPF + CAP_NET_ADMIN) and a kernel with sockmap support for TCP and Unix
sockets (5.15+). Anything missing: `Splicer.create()` returns None with the reason, and
the endpoint splices in user space as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import socket
import struct

_BPF_SYSCALL = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
_libc = ctypes.CDLL(None, use_errno=True)

BPF_MAP_CREATE, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM = 0, 2, 3
BPF_PROG_LOAD, BPF_PROG_ATTACH = 5, 8
BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_SOCKHASH = 1, 18
BPF_PROG_TYPE_SK_SKB = 14
BPF_SK_SKB_VERDICT = 38  # (not STREAM_VERDICT: that one is TCP-only)
BPF_ANY = 0
SO_COOKIE = 57
MAX_PAIRS = 65536

_FN_MAP_LOOKUP, _FN_GET_SOCKET_COOKIE, _FN_SK_REDIRECT_HASH = 1, 46, 72
SK_PASS = 1


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _ld_map_fd(dst: int, fd: int) -> bytes:
    # BPF_LD | BPF_DW | BPF_IMM with src = BPF_PSEUDO_MAP_FD: two instruction slots
    return _insn(0x18, dst, 1, 0, fd) + _insn(0, 0, 0, 0, 0)


def _program(peers_fd: int, sockets_fd: int) -> bytes:
    mov_reg, add_imm, mov_imm, call, exit_ = 0xBF, 0x07, 0xB7, 0x85, 0x95
    stx_dw, ldx_dw, jeq_imm = 0x7B, 0x79, 0x15
    return b"".join(
        [
            _insn(mov_reg, 6, 1),
            _insn(call, imm=_FN_GET_SOCKET_COOKIE),
            _insn(stx_dw, 10, 0, -8),
            _ld_map_fd(1, peers_fd),
            _insn(mov_reg, 2, 10),
            _insn(add_imm, 2, imm=-8),
            _insn(call, imm=_FN_MAP_LOOKUP),
            _insn(jeq_imm, 0, off=10, imm=0),  # -> pass
            _insn(ldx_dw, 1, 0, 0),
            _insn(stx_dw, 10, 1, -16),
            _insn(mov_reg, 1, 6),
            _ld_map_fd(2, sockets_fd),
            _insn(mov_reg, 3, 10),
            _insn(add_imm, 3, imm=-16),
            _insn(mov_imm, 4, imm=0),
            _insn(call, imm=_FN_SK_REDIRECT_HASH),
            _insn(exit_),
            _insn(mov_imm, 0, imm=SK_PASS),  # pass:
            _insn(exit_),
        ]
    )


def _bpf(cmd: int, attr: bytes) -> int:
    if _BPF_SYSCALL is None:
        raise OSError(0, f"no bpf syscall number known for {platform.machine()}")
    buf = ctypes.create_string_buffer(attr, max(len(attr), 128))
    ret = int(_libc.syscall(_BPF_SYSCALL, cmd, buf, ctypes.sizeof(buf)))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def _map_create(map_type: int, key_size: int, value_size: int, entries: int) -> int:
    return _bpf(BPF_MAP_CREATE, struct.pack("<IIIII", map_type, key_size, value_size, entries, 0))


def _cookie(sock: socket.socket) -> int:
    return int(struct.unpack("<Q", sock.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8))[0])


NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, NLMSG_ERROR = 4, 20, 1, 2
UDIAG_SHOW_PEER, UNIX_DIAG_PEER = 0x4, 2
_ANY = 0xFFFFFFFF


def _unix_diag(inode: int, show: int = 0) -> tuple[int, int | None]:
    """(cookie, peer inode) of the Unix socket with this inode, from sock_diag."""
    request = struct.pack("<BBHIIIII", socket.AF_UNIX, 0, 0, _ANY, inode, show, _ANY, _ANY)
    header = struct.pack("<IHHII", 16 + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as nl:
        nl.send(header + request)
        data = nl.recv(65536)
    length, kind = struct.unpack_from("<IH", data, 0)
    if kind == NLMSG_ERROR:
        err = -struct.unpack_from("<i", data, 16)[0]
        raise OSError(err, f"sock_diag: {os.strerror(err)}")
    c0, c1 = struct.unpack_from("<II", data, 24)
    peer = None
    offset = 32
    while offset + 4 <= length:
        alen, atype = struct.unpack_from("<HH", data, offset)
        if atype == UNIX_DIAG_PEER:
            peer = int(struct.unpack_from("<I", data, offset + 4)[0])
        offset += (alen + 3) & ~3
    return c0 | (c1 << 32), peer


def _unix_peer_cookie(sock: socket.socket) -> int:
    """The cookie of the socket at the other end of a connected Unix socket (the
    engine's). Bytes written by the engine arrive as skbs owned by *its* socket, so that
    is the cookie the program sees for data coming from the engine."""
    _, peer = _unix_diag(os.fstat(sock.fileno()).st_ino, UDIAG_SHOW_PEER)
    if peer is None:
        raise OSError(0, "the Unix socket has no peer")
    return _unix_diag(peer)[0]


class Splicer:
    """One BPF program and its two maps, shared by every endpoint of a `faaslab up`."""

    def __init__(self, peers_fd: int, sockets_fd: int, prog_fd: int) -> None:
        self.peers_fd = peers_fd
        self.sockets_fd = sockets_fd
        self.prog_fd = prog_fd

    @classmethod
    def create(cls) -> tuple[Splicer | None, str]:
        """A working splicer, or None and why not (then splice in user space)."""
        fds: list[int] = []
        try:
            peers = _map_create(BPF_MAP_TYPE_HASH, 8, 8, MAX_PAIRS * 3)
            fds.append(peers)
            sockets = _map_create(BPF_MAP_TYPE_SOCKHASH, 8, 8, MAX_PAIRS * 2)
            fds.append(sockets)
            insns = _program(peers, sockets)
            license_ = ctypes.create_string_buffer(b"GPL")
            log = ctypes.create_string_buffer(65536)
            code = ctypes.create_string_buffer(insns, len(insns))
            attr = struct.pack(
                "<IIQQIIQII16sIII",
                BPF_PROG_TYPE_SK_SKB,
                len(insns) // 8,
                ctypes.addressof(code),
                ctypes.addressof(license_),
                1,  # log level: the verifier says why, if it refuses
                ctypes.sizeof(log),
                ctypes.addressof(log),
                0,  # kern_version
                0,  # prog_flags
                b"faaslab_splice",
                0,  # prog_ifindex
                BPF_SK_SKB_VERDICT,  # expected_attach_type
                0,
            )
            try:
                prog = _bpf(BPF_PROG_LOAD, attr)
            except OSError as e:
                verifier = log.value.decode(errors="replace").strip().splitlines()[-3:]
                raise OSError(e.errno, f"{e.strerror}: {' | '.join(verifier)}") from None
            fds.append(prog)
            _bpf(BPF_PROG_ATTACH, struct.pack("<IIIII", sockets, prog, BPF_SK_SKB_VERDICT, 0, 0))
        except OSError as e:
            for fd in fds:
                os.close(fd)
            return None, f"in-kernel splicing unavailable ({e.strerror or e}): user-space proxy"
        return cls(peers, sockets, prog), "in-kernel splicing (eBPF sockmap)"

    def splice(self, a: socket.socket, b: socket.socket) -> list[int]:
        """From now on, bytes arriving on `a` go out of `b` and vice versa, in the kernel.
        Returns the keys to pass to `unsplice` once the pair is closed."""
        ca, cb = _cookie(a), _cookie(b)
        keys = [ca, cb]
        try:
            # Which cookie the program sees for bytes arriving on a socket: its own for
            # TCP, the sender's for a Unix socket (see _unix_peer_cookie).
            for sock, own, partner in ((a, ca, cb), (b, cb, ca)):
                seen = _unix_peer_cookie(sock) if sock.family == socket.AF_UNIX else own
                if seen != own:
                    keys.append(seen)
                self._update(self.peers_fd, seen, partner)
            self._update(self.sockets_fd, ca, a.fileno())
            self._update(self.sockets_fd, cb, b.fileno())
        except OSError:
            self.unsplice(keys)
            raise
        return keys

    def unsplice(self, keys: list[int]) -> None:
        """Forget a pair (closed sockets leave the sockhash by themselves)."""
        for fd, key in [(self.peers_fd, k) for k in keys] + [
            (self.sockets_fd, k) for k in keys[:2]
        ]:
            key_buf = ctypes.create_string_buffer(struct.pack("<Q", key), 8)
            with contextlib.suppress(OSError):
                _bpf(BPF_MAP_DELETE_ELEM, struct.pack("<IIQ", fd, 0, ctypes.addressof(key_buf)))

    @staticmethod
    def _update(map_fd: int, key: int, value: int) -> None:
        key_buf = ctypes.create_string_buffer(struct.pack("<Q", key), 8)
        value_buf = ctypes.create_string_buffer(struct.pack("<Q", value), 8)
        attr = struct.pack(
            "<IIQQQ",
            map_fd,
            0,
            ctypes.addressof(key_buf),
            ctypes.addressof(value_buf),
            BPF_ANY,
        )
        _bpf(BPF_MAP_UPDATE_ELEM, attr)

    def close(self) -> None:
        for fd in (self.prog_fd, self.sockets_fd, self.peers_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
