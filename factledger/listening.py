"""Whether `serve` can listen where it is told to, asked before it writes
anything (a schema, a line on the terminal), so that a port in use is told in
one line rather than by the server failing after start-up.

The address is bound and released again, as uvicorn binds it (every address
the host resolves to, SO_REUSEADDR set, IPv6 sockets IPv6-only); another
process may still take the port in the moment between, and uvicorn then
reports that itself.
"""

from __future__ import annotations

import errno
import socket

__all__ = ["ListenAddressUnavailable", "check_can_listen"]


class ListenAddressUnavailable(Exception):
    """Raised when `serve` could not listen on its host and port; the message says
    why and what to do."""


def check_can_listen(host: str, port: int) -> None:
    """Raise `ListenAddressUnavailable` unless every address of `host` can take `port`."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ListenAddressUnavailable(
            f"cannot listen on {host!r}: {error.strerror}; give an address of this machine "
            "with --host (127.0.0.1, or 0.0.0.0 for every interface)"
        ) from None
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
                probe.listen()
            except OSError as error:
                raise ListenAddressUnavailable(_why(error, host, port)) from None


def _why(error: OSError, host: str, port: int) -> str:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} is already in use on {host}: stop what listens on {where}, "
            "or choose another port with --port"
        )
    if error.errno == errno.EACCES:
        return (
            f"not allowed to listen on {where} (ports below 1024 need privileges): "
            "choose another port with --port"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"{host} is not an address of this machine: give one with --host "
            "(127.0.0.1, or 0.0.0.0 for every interface)"
        )
    return f"cannot listen on {where}: {error.strerror or error}"
