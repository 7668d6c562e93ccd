"""Each environment's network: a namespace of its own, in which only faaslab listens.

On Lambda a function reaches AWS's endpoints and, with `VpcConfig`, what its security groups
and the resources' ingress rules allow; never a service of the machine that hosts it. Here
each environment gets a network namespace holding nothing but a loopback interface, and
the control plane opens its own listeners inside it (setns, socket/bind/listen, setns
back: ~0.5 ms per environment, and no veth, bridge or routing to set up or tear down):

- 127.0.0.1:9001, the Runtime API, at the address AWS's sandbox gives it;
- 127.0.0.1:<edge port>, the AWS APIs (`AWS_ENDPOINT_URL`);
- 127.0.0.1:<endpoint port> of each cluster the function's VPC settings reach.

Every connection a function makes thus ends in the control plane, which knows which
environment made it: the listener is the caller's identity, no address lookup needed.
The namespace lives as long as its listeners and the descriptor kept here; a runtime
restarted after a timeout or crash joins the same one (the same "VM").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from faaslab import linux

RUNTIME_API_PORT = 9001  # AWS_LAMBDA_RUNTIME_API inside a Lambda sandbox: 127.0.0.1:9001
LOOPBACK = "127.0.0.1"

# (the listening socket in the environment's namespace, the namespace's id) -> its server
Serve = Callable[[socket.socket, str], Awaitable[asyncio.AbstractServer]]


@dataclass(frozen=True)
class Service:
    """Something of the control plane's that a function may reach, at 127.0.0.1:`port`."""

    port: int
    serve: Serve
    name: str  # for messages: "the AWS APIs", "cluster tcss562"


class EnvironmentNetwork:
    """One environment's namespace and the control plane's listeners in it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd  # keeps the namespace; handed to the runtime's child to join (setns)
        self.id = "net-" + secrets.token_hex(6)  # what its requests carry as Request.origin
        self.servers: list[asyncio.AbstractServer] = []
        self.runtime_api: socket.socket | None = None  # listening, served once assigned

    @classmethod
    async def create(cls, common: list[Service]) -> EnvironmentNetwork:
        """A namespace with the Runtime API's listener (served by the environment that
        takes it) and `common` (what every function reaches) already served."""
        net = cls(linux.new_net_namespace())
        try:
            net.runtime_api = net.listen(RUNTIME_API_PORT)
            for service in common:
                await net.offer(service)
        except BaseException:
            net.close()
            raise
        return net

    def listen(self, port: int) -> socket.socket:
        """A listening TCP socket on 127.0.0.1:`port` inside the namespace."""
        with linux.in_net_namespace(self.fd):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((LOOPBACK, port))
            sock.listen(1024)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    async def offer(self, service: Service) -> asyncio.AbstractServer:
        server = await service.serve(self.listen(service.port), self.id)
        self.servers.append(server)
        return server

    def close(self) -> None:
        for server in self.servers:
            server.close()
        self.servers.clear()
        if self.runtime_api is not None:
            self.runtime_api.close()
            self.runtime_api = None
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


def probe() -> str | None:
    """Why network namespaces cannot be used here, or None when they can."""
    try:
        os.close(linux.new_net_namespace())
    except OSError as e:
        return str(e)
    return None
