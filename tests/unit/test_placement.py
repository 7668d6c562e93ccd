"""CPU placement: alone at home, overlapping invocations away, moves only when needed."""

from __future__ import annotations

import os
import subprocess

import pytest

from faaslab.placement import ORIGINAL_CPUS, Placement, unpin_child

TWO_CPUS = pytest.mark.skipif(len(ORIGINAL_CPUS) < 2, reason="needs at least 2 CPUs")


def test_an_invocation_alone_runs_at_home_overlapping_ones_away() -> None:
    p = Placement(True)
    assert p.started() is True  # nothing else runs
    assert p.started() is False  # overlaps the first
    p.finished()
    assert p.started() is False  # one still runs
    p.finished()
    p.finished()
    assert p.running == 0
    assert p.started() is True


def test_disabled_placement_never_moves_anything() -> None:
    p = Placement(False)
    with subprocess.Popen(["sleep", "30"]) as child:
        try:
            p.move(child.pid, True)
            assert os.sched_getaffinity(child.pid) == ORIGINAL_CPUS
            assert p.moves == 0
        finally:
            child.kill()


@TWO_CPUS
def test_move_pins_a_runtime_home_or_to_the_other_cpus() -> None:
    p = Placement(True)
    assert p.home == max(ORIGINAL_CPUS)
    with subprocess.Popen(["sleep", "30"]) as child:
        try:
            p.move(child.pid, True)
            assert os.sched_getaffinity(child.pid) == {p.home}
            p.move(child.pid, False)
            assert os.sched_getaffinity(child.pid) == ORIGINAL_CPUS - {p.home}
            assert p.moves == 2
        finally:
            child.kill()
    p.move(child.pid, True)  # a runtime that died meanwhile: no error


@TWO_CPUS
def test_children_get_the_original_cpus_back() -> None:
    p = Placement(True)
    before = os.sched_getaffinity(0)
    try:
        p.pin_control_plane()
        assert os.sched_getaffinity(0) == {p.home}
        out = subprocess.run(
            ["python3", "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
            preexec_fn=unpin_child,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip() == str(sorted(ORIGINAL_CPUS))
    finally:
        os.sched_setaffinity(0, before)


@TWO_CPUS
def test_worker_threads_of_a_pinned_control_plane_keep_every_cpu() -> None:
    """Threads inherit their creator's CPU set: the loop's default executor must not."""
    import asyncio

    before = os.sched_getaffinity(0)

    async def main() -> set[int]:
        Placement(True).pin_control_plane(asyncio.get_running_loop())
        assert os.sched_getaffinity(0) != ORIGINAL_CPUS
        return await asyncio.to_thread(os.sched_getaffinity, 0)

    try:
        assert asyncio.run(main()) == ORIGINAL_CPUS
    finally:
        os.sched_setaffinity(0, before)
