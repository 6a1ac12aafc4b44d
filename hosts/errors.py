"""Errors raised by the hosts layer. Each has a title, a cause and a next step."""

from __future__ import annotations


class ActionableError(Exception):
    """Every error meant for a person: what failed, why, and what to do next.

    The base of the hosts layer's errors and of core's (core.errors.FleetdeckError), so the
    CLI and the TUI present both the same way.
    """

    def __init__(self, title: str, cause: str = "", next_step: str = "") -> None:
        super().__init__(title)
        self.title = title
        self.cause = cause
        self.next_step = next_step

    def __str__(self) -> str:
        text = self.title
        if self.cause:
            text += f": {self.cause}"
        if self.next_step:
            text += f"\n  next: {self.next_step}"
        return text


class HostError(ActionableError):
    """Something went wrong reaching or acting on a host."""


class HostUnreachable(HostError):
    """The host could not be reached or the connection was lost."""


class HostKeyRejected(HostError):
    """The host presented a key that known_hosts does not vouch for."""

    def __init__(self, title: str, cause: str, next_step: str, fingerprint: str | None) -> None:
        super().__init__(title, cause, next_step)
        self.fingerprint = fingerprint


class AuthenticationRejected(HostError):
    """The host refused every key we offered."""


class RemoteCommandFailed(HostError):
    """A command on the host exited non-zero or printed something we could not read."""
