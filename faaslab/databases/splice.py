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

import os
import socket
import struct

from faaslab import bpf, linux

SO_COOKIE = 57
MAX_PAIRS = 65536
SK_PASS = 1


def _program(peers_fd: int, sockets_fd: int) -> bytes:
    i = bpf.insn
    return b"".join(
        [
            i(bpf.MOV_REG, 6, 1),
            i(bpf.CALL, imm=bpf.FN_GET_SOCKET_COOKIE),
            i(bpf.STX_DW, 10, 0, -8),
            bpf.ld_map_fd(1, peers_fd),
            i(bpf.MOV_REG, 2, 10),
            i(bpf.ADD_IMM, 2, imm=-8),
            i(bpf.CALL, imm=bpf.FN_MAP_LOOKUP_ELEM),
            i(bpf.JEQ_IMM, 0, off=10, imm=0),  # -> pass
            i(bpf.LDX_DW, 1, 0, 0),
            i(bpf.STX_DW, 10, 1, -16),
            i(bpf.MOV_REG, 1, 6),
            bpf.ld_map_fd(2, sockets_fd),
            i(bpf.MOV_REG, 3, 10),
            i(bpf.ADD_IMM, 3, imm=-16),
            i(bpf.MOV_IMM, 4, imm=0),
            i(bpf.CALL, imm=bpf.FN_SK_REDIRECT_HASH),
            i(bpf.EXIT),
            i(bpf.MOV_IMM, 0, imm=SK_PASS),  # pass:
            i(bpf.EXIT),
        ]
    )


def _cookie(sock: socket.socket) -> int:
    return int(struct.unpack("<Q", sock.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8))[0])


UDIAG_SHOW_PEER, UNIX_DIAG_PEER = 0x4, 2


def _unix_diag(inode: int, show: int = 0) -> tuple[int, int | None]:
    """(cookie, peer inode) of the Unix socket with this inode, from sock_diag."""
    any_ = linux.DIAG_ANY
    msg = linux.sock_diag(
        struct.pack("<BBHIIIII", socket.AF_UNIX, 0, 0, any_, inode, show, any_, any_)
    )
    c0, c1 = struct.unpack_from("<II", msg, 8)  # unix_diag_msg: 4 bytes, inode, cookie
    peer = None
    offset = 16
    while offset + 4 <= len(msg):
        alen, atype = struct.unpack_from("<HH", msg, offset)
        if atype == UNIX_DIAG_PEER:
            peer = int(struct.unpack_from("<I", msg, offset + 4)[0])
        offset += (alen + 3) & ~3
    return c0 | (c1 << 32), peer


class EngineNotAccepted(OSError):
    """The Unix peer is still in the engine's accept queue (no inode to look up yet)."""


def _unix_peer_cookie(sock: socket.socket) -> int:
    """The cookie of the socket at the other end of a connected Unix socket (the
    engine's). Bytes written by the engine arrive as skbs owned by *its* socket, so that
    is the cookie the program sees for data coming from the engine."""
    _, peer = _unix_diag(os.fstat(sock.fileno()).st_ino, UDIAG_SHOW_PEER)
    if peer is None:
        raise OSError(0, "the Unix socket has no peer")
    if peer == 0:
        raise EngineNotAccepted(0, "the engine has not accepted the connection yet")
    return _unix_diag(peer)[0]


def _key(value: int) -> bytes:
    return struct.pack("<Q", value)


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
            fds.append(bpf.map_create(bpf.MAP_HASH, 8, 8, MAX_PAIRS * 3))
            fds.append(bpf.map_create(bpf.MAP_SOCKHASH, 8, 8, MAX_PAIRS * 2))
            prog = bpf.prog_load(
                bpf.PROG_SK_SKB,
                _program(fds[0], fds[1]),
                b"faaslab_splice",
                bpf.ATTACH_SK_SKB_VERDICT,
            )
            fds.append(prog)
            # (SK_SKB_VERDICT, not STREAM_VERDICT: that one is TCP-only)
            bpf.prog_attach(fds[1], prog, bpf.ATTACH_SK_SKB_VERDICT)
        except OSError as e:
            bpf.close_all(fds)
            return None, f"in-kernel splicing unavailable ({e.strerror or e})"
        return cls(*fds), "in-kernel splicing (eBPF sockmap)"

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
                bpf.map_update(self.peers_fd, _key(seen), _key(partner))
            bpf.map_update(self.sockets_fd, _key(ca), _key(a.fileno()))
            bpf.map_update(self.sockets_fd, _key(cb), _key(b.fileno()))
        except OSError:
            self.unsplice(keys)
            raise
        return keys

    def unsplice(self, keys: list[int]) -> None:
        """Forget a pair (closed sockets leave the sockhash by themselves)."""
        for key in keys:
            bpf.map_delete(self.peers_fd, _key(key))
        for key in keys[:2]:
            bpf.map_delete(self.sockets_fd, _key(key))

    def close(self) -> None:
        bpf.close_all([self.prog_fd, self.sockets_fd, self.peers_fd])
