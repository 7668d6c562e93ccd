"""peer_uid: the owner of the other end of a loopback TCP connection, exactly."""

from __future__ import annotations

import os
import socket

import pytest

from faaslab.linux import peer_uid


def test_own_connection_is_owned_by_this_uid() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()):
            conn, _ = server.accept()
            with conn:
                assert peer_uid(conn.getpeername(), conn.getsockname()) == os.getuid()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another uid")
def test_connection_from_another_uid_names_that_uid() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: become uid 54321, connect, wait to be told to exit
            try:
                os.setgid(54321)
                os.setuid(54321)
                client = socket.create_connection(server.getsockname())
                os.read(read_end, 1)
                client.close()
            finally:
                os._exit(0)
        conn, _ = server.accept()
        with conn:
            uid = peer_uid(conn.getpeername(), conn.getsockname())
        os.write(write_end, b"x")
        os.waitpid(pid, 0)
        assert uid == 54321


def test_no_such_connection_and_non_loopback_give_none() -> None:
    assert peer_uid(("127.0.0.1", 1), ("127.0.0.1", 2)) is None
    assert peer_uid(("10.0.0.1", 1234), ("127.0.0.1", 80)) is None
