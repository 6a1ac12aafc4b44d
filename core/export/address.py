"""Where `/metrics` listens: "HOST:PORT" or a bare port, checked before anything starts.

A bare port (or ":PORT") listens on 127.0.0.1 only: the fleet's state is nobody else's
business unless the inventory or the command line names another address. HOST is an IP
address ("[...]" around IPv6) or "localhost": never a name to resolve, so the address
that is checked is the one that is bound.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
EXAMPLE = "127.0.0.1:9464"


@dataclass(frozen=True, slots=True)
class MetricsAddress:
    host: str  # an IP address, without brackets
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_metrics_address(text: str) -> MetricsAddress:
    """The address in `text`; ValueError saying what is wrong and what would do."""
    text = text.strip()
    if not text:
        raise ValueError(f"empty: expected HOST:PORT such as {EXAMPLE}, or a port")
    host_text, port_text = _split(text)
    return MetricsAddress(_host(host_text), _port(port_text, text))


def _split(text: str) -> tuple[str, str]:
    if text.isdigit():
        return "", text
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise ValueError(f"{text!r}: an IPv6 address is written [ADDRESS]:PORT")
        return host, rest[1:]
    host, colon, port = text.rpartition(":")
    if not colon:
        raise ValueError(f"{text!r} has no port: expected HOST:PORT such as {EXAMPLE}")
    if ":" in host:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, [ADDRESS]:PORT")
    return host, port


def _host(text: str) -> str:
    if text in ("", "localhost"):
        return DEFAULT_HOST
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(
            f"{text!r} is not an IP address: name one such as 127.0.0.1 (this machine only), "
            "0.0.0.0 (every interface) or a bracketed IPv6 address"
        ) from None


def _port(text: str, whole: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{whole!r}: the port must be a number from 1 to 65535")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{whole!r}: port {port} is outside 1..65535")
    return port
