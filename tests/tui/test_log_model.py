"""The logs screen's line model, without Textual: buffer, merge, probes, search, save."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from fleetdeck.tui.log_model import (
    REPLICA_COLOURS,
    LogBuffer,
    LogLine,
    ViewOptions,
    find_match,
    follow_label,
    is_probe_access,
    match_spans,
    save_path,
    saved_text,
    short_name,
    shown,
    status_line,
    stream_notice,
)


@pytest.mark.parametrize(
    "text",
    [
        'INFO:     127.0.0.1:59870 - "GET /health HTTP/1.1" 200 OK',
        'INFO:     127.0.0.1:40112 - "GET /metrics HTTP/1.1" 200 OK',
        'INFO:     ::1:40112 - "HEAD /health HTTP/1.1" 200 OK',
        'INFO:     10.0.0.5:1234 - "GET /metrics/ HTTP/1.1" 200 OK',
        '(APIServer pid=12) INFO:     127.0.0.1:59870 - "GET /health HTTP/1.1" 200 OK',
    ],
)
def test_successful_probe_and_scrape_lines_are_probes(text: str) -> None:
    assert is_probe_access(text)


@pytest.mark.parametrize(
    "text",
    [
        # A failing probe is news, not noise.
        'INFO:     127.0.0.1:59870 - "GET /health HTTP/1.1" 503 Service Unavailable',
        'INFO:     127.0.0.1:51234 - "POST /v1/chat/completions HTTP/1.1" 200 OK',
        'INFO:     127.0.0.1:51234 - "GET /healthz HTTP/1.1" 200 OK',
        'INFO:     127.0.0.1:51234 - "GET /v1/models HTTP/1.1" 200 OK',
        "INFO 05-02 10:00:12 [launcher.py:28] Available routes are: /health, /metrics",
        "",
    ],
)
def test_other_lines_are_not_probes(text: str) -> None:
    assert not is_probe_access(text)


def test_the_buffer_is_bounded_and_drops_the_oldest() -> None:
    buffer = LogBuffer(max_lines=3)
    for i in range(5):
        buffer.append("d/r0", f"line {i}")
    assert [line.text for line in buffer] == ["line 2", "line 3", "line 4"]
    assert [line.seq for line in buffer] == [2, 3, 4]
    assert len(buffer) == buffer.max_lines == 3


def test_replicas_are_merged_in_arrival_order_and_keep_their_colour_slot() -> None:
    buffer = LogBuffer()
    buffer.register("d/r1")
    buffer.append("d/r0", "a")
    buffer.append("d/r1", "b")
    buffer.append("d/r0", "c")
    assert [(line.replica, line.text) for line in buffer] == [
        ("d/r0", "a"), ("d/r1", "b"), ("d/r0", "c"),
    ]  # fmt: skip
    assert (buffer.slot("d/r1"), buffer.slot("d/r0")) == (0, 1)
    for i in range(2, REPLICA_COLOURS + 1):
        buffer.register(f"d/r{i}")
    assert buffer.slot(f"d/r{REPLICA_COLOURS}") == 0  # the palette wraps around


def test_the_view_picks_replica_probes_and_filter() -> None:
    buffer = LogBuffer()
    buffer.append("d/r0", "Loading weights")
    buffer.append("d/r1", 'INFO:     127.0.0.1:1 - "GET /health HTTP/1.1" 200 OK')
    buffer.append("d/r1", "KV cache ready")
    buffer.append("d/r0", stream_notice("stream ended"), notice=True)

    def texts(**options: object) -> list[str]:
        return [line.text for line in buffer.view(ViewOptions(**options))]  # type: ignore[arg-type]

    assert texts() == ["Loading weights", "KV cache ready", "── stream ended · resuming ──"]
    assert len(texts(hide_probes=False)) == 4
    assert texts(replica="d/r1") == ["KV cache ready"]
    # A notice passes the filter: it explains the gap in what the filter keeps.
    assert texts(filter="kv CACHE") == ["KV cache ready", "── stream ended · resuming ──"]


def test_shown_is_a_predicate_of_line_and_options() -> None:
    line = LogLine(0, "d/r0", "hello")
    assert shown(line, ViewOptions())
    assert not shown(line, ViewOptions(replica="d/r1"))
    assert not shown(line, ViewOptions(filter="bye"))


def test_match_spans_are_case_insensitive_and_do_not_overlap() -> None:
    assert match_spans("Error: an ERROR", "error") == [(0, 5), (10, 15)]
    assert match_spans("aaaa", "aa") == [(0, 2), (2, 4)]
    assert match_spans("text", "") == []


def test_find_match_goes_both_ways_and_wraps_around() -> None:
    lines = [LogLine(i, "d/r0", text) for i, text in enumerate(["x err", "ok", "err y", "ok"])]
    assert find_match(lines, "err", 0, forward=True) == 2
    assert find_match(lines, "err", 2, forward=True) == 0  # wraps
    assert find_match(lines, "err", len(lines), forward=False) == 2  # from the end
    assert find_match(lines, "err", 2, forward=False) == 0
    assert find_match(lines, "nothing", 0, forward=True) is None
    assert find_match([], "err", 0, forward=True) is None


def test_status_line_leads_with_the_follow_state() -> None:
    options = ViewOptions()
    assert follow_label(False, 0) == "following"
    assert follow_label(True, 7) == "paused (7 new)"
    assert status_line(paused=False, new=0, options=options, wrap=False, search="", match=None) == (
        "following"
    )
    line = status_line(
        paused=True,
        new=3,
        options=ViewOptions(hide_probes=False, filter="err"),
        wrap=True,
        search="err",
        match=(2, 5),
    )
    assert line == "paused (3 new) · /err: 2 of 5 · only 'err' · probes shown · wrap"
    assert "/x: no match" in status_line(
        paused=False, new=0, options=options, wrap=False, search="x", match=None
    )
    assert "/x: 4 lines" in status_line(
        paused=False, new=0, options=options, wrap=False, search="x", match=(0, 4)
    )


def test_save_path_names_deployment_replica_and_time() -> None:
    now = datetime(2025, 5, 2, 10, 0, 1)
    assert save_path(Path("/tmp"), "llama8b", None, now) == Path(
        "/tmp/fleetdeck-logs-llama8b-20250502-100001.log"
    )
    assert save_path(Path("."), "llama8b", "llama8b/r2", now).name == (
        "fleetdeck-logs-llama8b-r2-20250502-100001.log"
    )
    assert "/" not in save_path(Path("."), "a/b c", None, now).name


def test_saved_text_writes_prefixes_as_plain_text() -> None:
    lines = [LogLine(0, "d/r0", "a"), LogLine(1, "d/r10", "b")]
    assert saved_text(lines, "d", prefixed=True) == "r0  │ a\nr10 │ b\n"
    assert saved_text(lines, "d", prefixed=False) == "a\nb\n"
    assert saved_text([], "d", prefixed=True) == ""


def test_short_name_drops_the_deployment() -> None:
    assert short_name("llama8b/r0", "llama8b") == "r0"
    assert short_name("other/r0", "llama8b") == "other/r0"
