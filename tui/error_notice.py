"""Turn any exception into what a person needs: a title, the cause and a next step.

Errors from the engine (core.errors.FleetdeckError) and from the hosts layer
(hosts.errors.HostError) carry `title`, `cause` and `next_step`; they are read by name
so that tui never imports hosts. Anything else is a bug or an unexpected failure and
says so rather than pretending to know a remedy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorNotice:
    title: str
    cause: str
    next_step: str

    @property
    def body(self) -> str:
        """Notification text under the title: the cause, then the next step."""
        lines = [self.cause] if self.cause else []
        if self.next_step:
            lines.append(f"Next: {self.next_step}")
        return "\n".join(lines)

    @property
    def one_line(self) -> str:
        return f"{self.title}: {self.cause}" if self.cause else self.title


def _text(error: BaseException, name: str) -> str:
    value = getattr(error, name, "")
    return value if isinstance(value, str) else ""


def describe_error(error: BaseException, *, doing: str, fallback_step: str) -> ErrorNotice:
    """`doing` names what failed ("scale llama8b to 3") for errors that carry no title."""
    title = _text(error, "title")
    if title:
        return ErrorNotice(title, _text(error, "cause"), _text(error, "next_step") or fallback_step)
    detail = str(error)
    cause = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    return ErrorNotice(f"Could not {doing}", cause, fallback_step)
