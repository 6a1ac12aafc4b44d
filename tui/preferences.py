"""What the console remembers for its user across runs: for now, the theme.

Kept in $XDG_CONFIG_HOME/fleetdeck/console.json (default ~/.config/...). JSON because
the standard library both reads and writes it. Written atomically (a temporary file in
the same folder, then a rename), so a crash never leaves half a file. A file that cannot
be read is reported, never fatal: the console starts with its defaults.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


def default_preferences_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "fleetdeck" / "console.json"


@dataclass(frozen=True)
class Preferences:
    theme: str | None = None


@dataclass(frozen=True)
class Loaded:
    preferences: Preferences
    problem: str | None = None
    """Why the file could not be used, for a person; None when it was fine or absent."""


class PreferencesFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Loaded:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Loaded(Preferences())
        except OSError as exc:
            return Loaded(Preferences(), f"{self.path}: {exc.strerror or exc}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return Loaded(Preferences(), f"{self.path}: not JSON ({exc})")
        theme = data.get("theme") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(theme, str | None):
            return Loaded(Preferences(), f'{self.path}: expected {{"theme": "NAME"}}')
        return Loaded(Preferences(theme=theme))

    def save(self, preferences: Preferences) -> None:
        """Replace the file in one step; raises OSError when it cannot be written."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"theme": preferences.theme}, indent=2) + "\n"
        fd, temporary = tempfile.mkstemp(prefix=".console-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
