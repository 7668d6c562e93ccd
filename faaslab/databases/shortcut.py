"""Local clients straight to a running engine: an eBPF connect() hook (no proxy at all).

While a cluster is available, a `connect()` on this machine to 127.0.0.1:<endpoint port>
is rewritten by the kernel, inside the connect call, to 127.0.0.1:<the engine's own TCP
port>. The client then talks to the engine directly: a point select costs what it costs
against the bare engine (an in-kernel splice still costs a kernel worker hop, a
user-space proxy two process wake-ups). While the cluster pauses, is paused or resumes,
its entry is removed and connections reach the endpoint, which holds them through the
resume as before. Remote clients (an endpoint bound beyond loopback) never pass this
hook; they always use the endpoint.

What faaslab gives up, and how it makes up for it: a direct connection is invisible to the
endpoint, so the auto-pause check also asks the engine how many client sessions it has
(cluster.py); ingress rules can only be honoured at the endpoint, so clusters whose rules
do not admit 127.0.0.1 never get an entry, and the hook leaves alone a socket bound to any
other source address (`bind` to 127.0.0.2 first): the endpoint checks that one. Functions
run in network namespaces of their own, where 127.0.0.1:<endpoint port> is a listener of
the control plane's (VPC rules), not the engine: the hook acts only in the namespace it was
loaded in (the netns cookie).

The program (CGROUP_SOCK_ADDR at INET4_CONNECT on the cgroup v2 root, 24 slots):

    r6 = r1                                     ; struct bpf_sock_addr
    if ctx->user_ip4 != 127.0.0.1 goto out
    r3 = ctx->sk->src_ip4                       ; 0 unless the socket was bound
    if r3 != 0 and r3 != 127.0.0.1 goto out     ; the endpoint checks other sources
    if get_netns_cookie(ctx) != <faaslab's netns> goto out
    *(u32 *)(r10 - 4) = ctx->user_port
    r0 = map_lookup_elem(&ports, r10 - 4)
    if r0 == 0 goto out
    ctx->user_port = *(u32 *)r0                 ; the engine's port
out:
    return 1                                    ; allow the connect

It is attached through a BPF link, which the kernel detaches when faaslab exits, however
it exits: no stale rewrite can outlive the engines it points at.
"""

from __future__ import annotations

import os
import socket
import struct

from faaslab import bpf

LOOPBACK_U32 = struct.unpack("<I", socket.inet_aton("127.0.0.1"))[0]
USER_IP4, USER_PORT, SK = 4, 24, 64  # offsets in struct bpf_sock_addr
SRC_IP4 = 24  # offset in struct bpf_sock
MAX_ENDPOINTS = 4096
SO_NETNS_COOKIE = 71


def _program(ports_fd: int, netns_cookie: int) -> bytes:
    i = bpf.insn
    out = 22  # the index of `out:` (ld_imm64 and ld_map_fd take two slots each)
    return b"".join(
        [
            i(bpf.MOV_REG, 6, 1),  # 0
            i(bpf.LDX_W, 2, 6, USER_IP4),
            i(bpf.JNE_IMM, 2, off=out - 3, imm=LOOPBACK_U32),
            i(bpf.LDX_DW, 2, 6, SK),
            i(bpf.LDX_W, 3, 2, SRC_IP4),
            i(bpf.JEQ_IMM, 3, off=1, imm=0),  # 5: unbound -> 7
            i(bpf.JNE_IMM, 3, off=out - 7, imm=LOOPBACK_U32),
            i(bpf.MOV_REG, 1, 6),  # 7
            i(bpf.CALL, imm=bpf.FN_GET_NETNS_COOKIE),
            bpf.ld_imm64(2, netns_cookie),  # 9, 10
            i(bpf.JNE_REG, 0, 2, off=out - 12),  # 11
            i(bpf.LDX_W, 2, 6, USER_PORT),
            i(bpf.STX_W, 10, 2, -4),
            bpf.ld_map_fd(1, ports_fd),  # 14, 15
            i(bpf.MOV_REG, 2, 10),
            i(bpf.ADD_IMM, 2, imm=-4),
            i(bpf.CALL, imm=bpf.FN_MAP_LOOKUP_ELEM),
            i(bpf.JEQ_IMM, 0, off=out - 20, imm=0),  # 19
            i(bpf.LDX_W, 2, 0, 0),
            i(bpf.STX_W, 6, 2, USER_PORT),
            i(bpf.MOV_IMM, 0, imm=1),  # 22: out
            i(bpf.EXIT),
        ]
    )


def netns_cookie() -> int:
    """The kernel's id of this thread's network namespace (SO_NETNS_COOKIE, Linux 5.14)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        return int(struct.unpack("<Q", s.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0])


def _port_key(port: int) -> bytes:
    """A port as bpf_sock_addr holds it: network byte order in the low 16 bits of a u32."""
    return struct.pack("<I", socket.htons(port))


def cgroup2_root() -> str | None:
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 2 and fields[2] == "cgroup2":
                return fields[1]
    return None


class ConnectShortcut:
    """The program, its port map and its link. `open`/`close` per cluster endpoint."""

    def __init__(self, ports_fd: int, prog_fd: int, link_fd: int) -> None:
        self.ports_fd = ports_fd
        self.prog_fd = prog_fd
        self.link_fd = link_fd
        self.active: dict[int, int] = {}  # endpoint port -> engine port

    @classmethod
    def create(cls) -> tuple[ConnectShortcut | None, str]:
        root = cgroup2_root()
        if root is None:
            return None, "no cgroup v2 mount for the connect hook"
        fds: list[int] = []
        try:
            fds.append(bpf.map_create(bpf.MAP_HASH, 4, 4, MAX_ENDPOINTS))
            fds.append(
                bpf.prog_load(
                    bpf.PROG_CGROUP_SOCK_ADDR,
                    _program(fds[0], netns_cookie()),
                    b"faaslab_connect",
                    bpf.ATTACH_CGROUP_INET4_CONNECT,
                )
            )
            cgroup = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fds.append(bpf.link_create(fds[1], cgroup, bpf.ATTACH_CGROUP_INET4_CONNECT))
            finally:
                os.close(cgroup)
        except OSError as e:
            bpf.close_all(fds)
            return None, f"direct connections unavailable ({e.strerror or e})"
        return cls(*fds), "direct to the engine (eBPF connect hook)"

    def open(self, endpoint_port: int, engine_port: int) -> None:
        bpf.map_update(self.ports_fd, _port_key(endpoint_port), _port_key(engine_port))
        self.active[endpoint_port] = engine_port

    def close(self, endpoint_port: int) -> None:
        bpf.map_delete(self.ports_fd, _port_key(endpoint_port))
        self.active.pop(endpoint_port, None)

    def shutdown(self) -> None:
        bpf.close_all([self.link_fd, self.prog_fd, self.ports_fd])
