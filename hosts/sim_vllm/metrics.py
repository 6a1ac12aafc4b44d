"""The simulator's Prometheus metrics: counters, gauges, histograms and their text page.

Pure code, no I/O: the engine feeds observations in, /metrics renders them. The page
has the shape prometheus_client gives real vLLM (sorted label names, `_created` gauge
families after each counter and histogram, Go-style float text), so fleetdeck's parser
reads the simulator exactly as it reads a real server.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from fleetdeck.hosts.sim_vllm.metric_families import (
    CACHE_CONFIG_HELP,
    CACHE_CONFIG_INFO,
    COUNTER,
    FAMILIES,
    GAUGE,
    HISTOGRAM,
    FamilySpec,
)


def format_value(value: float) -> str:
    """A float as prometheus_client writes it (its `floatToGoString`)."""
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(float(value))
    dot = text.find(".")
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+0{dot - 1}"
    return text


def format_labels(labels: Mapping[str, str]) -> str:
    """`{a="1",b="2"}` with names sorted, as real vLLM's page has them; "" when empty."""
    if not labels:
        return ""
    parts = []
    for name in sorted(labels):
        value = labels[name].replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        parts.append(f'{name}="{value}"')
    return "{" + ",".join(parts) + "}"


class Histogram:
    """A Prometheus histogram: per-bucket counts (made cumulative on render), sum, count."""

    def __init__(self, bounds: Iterable[float]) -> None:
        self.bounds = tuple(sorted(bounds))
        self._counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bucket (`le` is inclusive).
        self._counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations <= bound) for every bucket, ending with +Inf."""
        out: list[tuple[float, int]] = []
        running = 0
        for bound, count in zip((*self.bounds, math.inf), self._counts, strict=True):
            running += count
            out.append((bound, running))
        return out


class _Series:
    __slots__ = ("created", "histogram", "value")

    def __init__(self, created: float, buckets: tuple[float, ...] | None) -> None:
        self.created = created
        self.value = 0.0
        self.histogram = Histogram(buckets) if buckets is not None else None


class MetricsRegistry:
    """Every vllm:* family of a real page, with live values; safe to use from many threads.

    A series is named by its family's base name and, for families with one extra label
    (finished_reason, source, ...), that label's value.
    """

    def __init__(
        self,
        model_name: str,
        *,
        engine: str = "0",
        info_labels: Mapping[str, str] | None = None,
        families: tuple[FamilySpec, ...] = FAMILIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._model_name = model_name
        self._engine = engine
        self._info_labels = dict(info_labels or {})
        self._families = {spec.name: spec for spec in families}
        self._lock = threading.Lock()
        self._series: dict[str, dict[str | None, _Series]] = {}
        for spec in families:
            buckets = spec.buckets if spec.kind == HISTOGRAM else None
            values: tuple[str | None, ...] = spec.labels[1] if spec.labels else (None,)
            self._series[spec.name] = {value: _Series(clock(), buckets) for value in values}

    def inc(self, name: str, amount: float = 1.0, label: str | None = None) -> None:
        self._check(name, COUNTER)
        if amount < 0:
            raise ValueError(f"counter {name} can only go up, not by {amount}")
        with self._lock:
            self._series[name][label].value += amount

    def set(self, name: str, value: float, label: str | None = None) -> None:
        self._check(name, GAUGE)
        with self._lock:
            self._series[name][label].value = value

    def observe(self, name: str, value: float, label: str | None = None) -> None:
        self._check(name, HISTOGRAM)
        with self._lock:
            histogram = self._series[name][label].histogram
            assert histogram is not None
            histogram.observe(value)

    def value(self, name: str, label: str | None = None) -> float:
        """A counter's or gauge's current value, or a histogram's observation count."""
        with self._lock:
            series = self._series[name][label]
            return float(series.histogram.count) if series.histogram else series.value

    def render(self) -> str:
        """The whole page in Prometheus text format 0.0.4."""
        lines: list[str] = []
        with self._lock:
            for spec in self._families.values():
                self._render_family(spec, lines)
            if self._info_labels:
                labels = format_labels({**self._info_labels, "engine": self._engine})
                lines += [
                    f"# HELP {CACHE_CONFIG_INFO} {CACHE_CONFIG_HELP}",
                    f"# TYPE {CACHE_CONFIG_INFO} gauge",
                    f"{CACHE_CONFIG_INFO}{labels} 1.0",
                ]
        return "\n".join(lines) + "\n"

    def _check(self, name: str, kind: str) -> None:
        spec = self._families.get(name)
        if spec is None or spec.kind != kind:
            raise KeyError(f"no {kind} family named {name}")

    def _labels(self, spec: FamilySpec, value: str | None, **extra: str) -> dict[str, str]:
        labels = {"model_name": self._model_name, **extra}
        if spec.per_engine:
            labels["engine"] = self._engine
        if spec.labels and value is not None:
            labels[spec.labels[0]] = value
        return labels

    def _render_family(self, spec: FamilySpec, lines: list[str]) -> None:
        series = self._series[spec.name]
        name = f"{spec.name}_total" if spec.kind == COUNTER else spec.name
        lines += [f"# HELP {name} {spec.help}", f"# TYPE {name} {spec.kind}"]
        for value, one in series.items():
            labels = self._labels(spec, value)
            if one.histogram is None:
                lines.append(f"{name}{format_labels(labels)} {format_value(one.value)}")
                continue
            for bound, count in one.histogram.cumulative():
                bucket_labels = format_labels({**labels, "le": format_value(bound)})
                lines.append(f"{name}_bucket{bucket_labels} {format_value(count)}")
            lines.append(f"{name}_count{format_labels(labels)} {format_value(one.histogram.count)}")
            lines.append(f"{name}_sum{format_labels(labels)} {format_value(one.histogram.sum)}")
        if spec.kind == GAUGE:
            return
        created = f"{spec.name}_created"
        lines += [f"# HELP {created} {spec.help}", f"# TYPE {created} gauge"]
        for value, one in series.items():
            text = format_labels(self._labels(spec, value))
            lines.append(f"{created}{text} {format_value(one.created)}")
