"""uid leases: two faaslab instances on one machine never share an environment uid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from faaslab.functions.uids import BLOCK, FLOOR, acquire


def _range(first: int, size: int) -> set[int]:
    return set(range(first, first + size))


def test_two_leases_in_one_process_get_disjoint_blocks(tmp_path: Path) -> None:
    a = acquire(200000, 1002, tmp_path)
    b = acquire(200000, 1002, tmp_path)
    try:
        assert a.first == 200000 and a.uid(0) == 200000
        assert not _range(a.first, a.size) & _range(b.first, b.size)
        assert b.first == (200000 // BLOCK + 1) * BLOCK
    finally:
        a.release()
        b.release()


def test_an_explicit_base_inside_anothers_block_gets_the_next_block(tmp_path: Path) -> None:
    a = acquire(200000, 1002, tmp_path)
    b = acquire(230000, 1002, tmp_path)  # (a different --uid-base, same block)
    try:
        assert b.first >= 230000
        assert not _range(a.first, a.size) & _range(b.first, b.size)
    finally:
        a.release()
        b.release()


def test_a_lease_held_by_another_process_is_skipped_and_freed_by_its_exit(
    tmp_path: Path,
) -> None:
    code = (
        "import sys; from pathlib import Path; from faaslab.functions.uids import acquire; "
        f"lease = acquire(200000, 1002, Path({str(tmp_path)!r})); "
        "print(lease.first, flush=True); sys.stdin.read()"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            theirs = int(holder.stdout.readline())
            ours = acquire(200000, 1002, tmp_path)
            assert ours.first != theirs and ours.first // BLOCK != theirs // BLOCK
            ours.release()
        finally:
            holder.kill()  # (like kill -9 of a control plane: the kernel drops its flock)
            holder.wait()
    again = acquire(200000, 1002, tmp_path)
    assert again.first == theirs
    again.release()


def test_a_released_lease_is_reusable(tmp_path: Path) -> None:
    a = acquire(300000, 10, tmp_path)
    a.release()
    b = acquire(300000, 10, tmp_path)
    assert b.first == a.first
    b.release()


def test_a_block_too_small_from_the_base_is_skipped(tmp_path: Path) -> None:
    near_end = 2 * BLOCK - 5  # 5 uids left in its block
    lease = acquire(near_end, 100, tmp_path)
    assert lease.first == 2 * BLOCK
    with pytest.raises(OverflowError):
        lease.uid(lease.size)
    lease.release()


def test_a_base_among_real_accounts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        acquire(FLOOR - 1, 10, tmp_path)
