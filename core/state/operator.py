"""Who is acting: the operator named in the fleet's shared overrides and events.

user@machine from the local user and hostname; FLEETDECK_OPERATOR overrides it (a
shared login used by several people, a CI job that should say what it is).
"""

from __future__ import annotations

import getpass
import os
import socket

OPERATOR_ENV = "FLEETDECK_OPERATOR"


def operator_name() -> str:
    named = os.environ.get(OPERATOR_ENV, "").strip()
    if named:
        # One line of printable text: it lands in events and status output.
        return "".join(c for c in named if c.isprintable())[:100]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"
