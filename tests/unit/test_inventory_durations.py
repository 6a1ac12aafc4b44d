from __future__ import annotations

import pytest

from fleetdeck.core.inventory.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("1.5s", 1.5),
        ("1d", 86400.0),
        (" 2M ", 120.0),
        ("45", 45.0),
        (45, 45.0),
        (0.25, 0.25),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "bad", ["5 minutes", "", "m", "10x", "1h1h", "-5s", -1, True, float("inf"), [1], "1.s"]
)
def test_bad_durations_say_what_is_expected(bad: object) -> None:
    with pytest.raises(ValueError, match=r'duration like "30s"|each unit may appear once'):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("seconds", "text"), [(90, "1m30s"), (5400, "1h30m"), (0.5, "500ms"), (0, "0s"), (1.5, "1.5s")]
)
def test_format_duration_round_trips(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
