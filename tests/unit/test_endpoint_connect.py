"""The endpoint's connection to the engine's Unix socket when the socket's accept queue is
full: a non-blocking connect is refused at once with EAGAIN there (TCP would wait), which
is what a burst of clients meeting a just-resumed MariaDB hit. Run on asyncio's loop and
uvloop's, as `faaslab up` uses uvloop."""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from faaslab.databases.endpoint import connect_unix


@pytest.fixture(params=["asyncio", "uvloop"])
def runner(request: pytest.FixtureRequest) -> Iterator[asyncio.Runner]:
    factory = uvloop.new_event_loop if request.param == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as r:
        yield r


@pytest.fixture
def full_queue(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    """A listening Unix socket that accepts nothing, with its queue filled to refusal."""
    path = str(tmp_path / "engine.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    waiting: list[socket.socket] = []
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
        except BlockingIOError:
            s.close()
            break
        waiting.append(s)
        assert len(waiting) < 100, "the queue never filled"
    yield path, listener
    for s in waiting:
        s.close()
    listener.close()


def _accept_all_after(listener: socket.socket, delay: float) -> threading.Thread:
    def accept() -> None:
        threading.Event().wait(delay)
        listener.settimeout(1)
        for _ in range(10):  # the queued ones, then ours
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                return
            conn.close()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    return t


def test_a_full_accept_queue_is_waited_out(
    runner: asyncio.Runner, full_queue: tuple[str, socket.socket]
) -> None:
    path, listener = full_queue
    accepting = _accept_all_after(listener, 0.2)

    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        transport, _ = await connect_unix(asyncio.Protocol, path, patience=5)
        waited = loop.time() - start
        assert transport.get_extra_info("socket").getpeername() == path  # really connected
        transport.close()
        return waited

    waited = runner.run(main())
    accepting.join(5)
    assert waited >= 0.15  # it did meet the full queue, and waited for room


def test_a_queue_that_stays_full_fails_with_eagain_after_the_patience(
    runner: asyncio.Runner, full_queue: tuple[str, socket.socket]
) -> None:
    path, _ = full_queue

    async def main() -> None:
        await connect_unix(asyncio.Protocol, path, patience=0.2)

    with pytest.raises(OSError) as caught:
        runner.run(main())
    assert caught.value.errno == errno.EAGAIN


def test_other_connect_errors_are_not_retried(runner: asyncio.Runner, tmp_path: Path) -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(OSError) as caught:
            await connect_unix(asyncio.Protocol, str(tmp_path / "none.sock"), patience=5)
        assert caught.value.errno == errno.ENOENT
        return loop.time() - start

    assert runner.run(main()) < 1
