"""The few eBPF facilities faaslab uses, through the bpf(2) syscall directly.

Why by hand: faaslab's programs are a dozen instructions each, and the alternatives
(libbpf + clang at run time, bcc) would make every user install a compiler toolchain for
them. The instruction encoders below are the eBPF ISA's (kernel
Documentation/bpf/standardization/instruction-set.rst); the kernel's verifier checks
every program at load time and says why if it refuses one (its log is in the error).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import struct

_BPF_SYSCALL = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
_libc = ctypes.CDLL(None, use_errno=True)

# commands
MAP_CREATE, MAP_UPDATE_ELEM, MAP_DELETE_ELEM, PROG_LOAD, PROG_ATTACH = 0, 2, 3, 5, 8
LINK_CREATE = 28
# map and program types, attach points
MAP_HASH, MAP_SOCKHASH = 1, 18
PROG_SK_SKB, PROG_CGROUP_SOCK_ADDR = 14, 18
ATTACH_CGROUP_INET4_CONNECT, ATTACH_SK_SKB_VERDICT = 10, 38
# helpers
FN_MAP_LOOKUP_ELEM, FN_GET_SOCKET_COOKIE, FN_SK_REDIRECT_HASH = 1, 46, 72
FN_GET_NETNS_COOKIE = 122

# instruction opcodes (64-bit ALU, jumps, memory)
MOV_REG, MOV_IMM, ADD_IMM, CALL, EXIT = 0xBF, 0xB7, 0x07, 0x85, 0x95
STX_DW, LDX_DW, STX_W, LDX_W = 0x7B, 0x79, 0x63, 0x61
JEQ_IMM, JNE_IMM, JNE_REG = 0x15, 0x55, 0x5D


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def ld_imm64(dst: int, value: int) -> bytes:
    """dst = a 64-bit constant (BPF_LD | BPF_DW | BPF_IMM): two slots."""
    low, high = struct.unpack("<ii", struct.pack("<Q", value))
    return insn(0x18, dst, 0, 0, low) + insn(0, imm=high)


def ld_map_fd(dst: int, fd: int) -> bytes:
    """dst = &map (BPF_LD | BPF_DW | BPF_IMM, src = BPF_PSEUDO_MAP_FD): two slots."""
    return insn(0x18, dst, 1, 0, fd) + insn(0)


def syscall(cmd: int, attr: bytes) -> int:
    if _BPF_SYSCALL is None:
        raise OSError(0, f"no bpf syscall number known for {platform.machine()}")
    buf = ctypes.create_string_buffer(attr, max(len(attr), 128))
    ret = int(_libc.syscall(_BPF_SYSCALL, cmd, buf, ctypes.sizeof(buf)))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def map_create(map_type: int, key_size: int, value_size: int, entries: int) -> int:
    return syscall(MAP_CREATE, struct.pack("<IIIII", map_type, key_size, value_size, entries, 0))


def map_update(map_fd: int, key: bytes, value: bytes) -> None:
    key_buf = ctypes.create_string_buffer(key, len(key))
    value_buf = ctypes.create_string_buffer(value, len(value))
    attr = struct.pack(
        "<IIQQQ", map_fd, 0, ctypes.addressof(key_buf), ctypes.addressof(value_buf), 0
    )
    syscall(MAP_UPDATE_ELEM, attr)


def map_delete(map_fd: int, key: bytes) -> None:
    """Remove a key; a key that is not there is not an error."""
    key_buf = ctypes.create_string_buffer(key, len(key))
    with contextlib.suppress(FileNotFoundError):
        syscall(MAP_DELETE_ELEM, struct.pack("<IIQ", map_fd, 0, ctypes.addressof(key_buf)))


def prog_load(prog_type: int, insns: bytes, name: bytes, expected_attach: int) -> int:
    """Load a program; OSError carries the verifier's last words if it is refused."""
    license_ = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(65536)
    code = ctypes.create_string_buffer(insns, len(insns))
    attr = struct.pack(
        "<IIQQIIQII16sIII",
        prog_type,
        len(insns) // 8,
        ctypes.addressof(code),
        ctypes.addressof(license_),
        1,  # log level
        ctypes.sizeof(log),
        ctypes.addressof(log),
        0,  # kern_version
        0,  # prog_flags
        name,
        0,  # prog_ifindex
        expected_attach,
        0,
    )
    try:
        return syscall(PROG_LOAD, attr)
    except OSError as e:
        verifier = log.value.decode(errors="replace").strip().splitlines()[-3:]
        raise OSError(e.errno, f"{e.strerror}: {' | '.join(verifier)}") from None


def prog_attach(target_fd: int, prog_fd: int, attach_type: int) -> None:
    syscall(PROG_ATTACH, struct.pack("<IIIII", target_fd, prog_fd, attach_type, 0, 0))


def link_create(prog_fd: int, target_fd: int, attach_type: int) -> int:
    """Attach through a link: detached by the kernel when the link fd closes, i.e. when
    faaslab exits, even by kill -9 (a PROG_ATTACH'd cgroup program would stay behind)."""
    return syscall(LINK_CREATE, struct.pack("<IIII", prog_fd, target_fd, attach_type, 0))


def close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
