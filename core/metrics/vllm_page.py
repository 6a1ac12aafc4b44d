"""One vLLM /metrics page reduced to the numbers fleetdeck uses, summed over engines.

A replica may run several engines (data parallel) or serve several model names; every
series of a family is summed, except KV-cache usage, a 0..1 fraction per engine, which
is averaged. Old family names are read when the current one is absent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fleetdeck.core.metrics import families as f
from fleetdeck.core.metrics.histograms import Histogram, histogram_from_samples
from fleetdeck.core.metrics.prometheus_text import Sample, keep_lines, parse_lines


@dataclass(frozen=True, slots=True)
class PageValues:
    running: float | None = None
    waiting: float | None = None
    kv_cache_usage: float | None = None
    prompt_tokens: float | None = None
    generation_tokens: float | None = None
    finished: Mapping[str, float] = field(default_factory=dict)  # by finished_reason
    histograms: Mapping[str, Histogram] = field(default_factory=dict)  # by current name
    # Changes when the server process is a new one (process start time, else the
    # request counter's _created timestamp): counters restarted even if they grew.
    process_marker: tuple[str, float] | None = None  # (which family, its value)
    bad_lines: int = 0

    @property
    def finished_total(self) -> float | None:
        return sum(self.finished.values()) if self.finished else None


def read_page(text: str) -> PageValues:
    """Filter the page to the families in use, parse what is left, sum over engines."""
    parsed = parse_lines(keep_lines(text, f.LINE_PREFIXES, f.SAMPLE_NAMES))
    by_family = _by_current_family(parsed.samples)

    def total(name: str) -> float | None:
        samples = by_family.get(name)
        return sum(s.value for s in samples) if samples else None

    finished: dict[str, float] = defaultdict(float)
    for sample in by_family.get(f.REQUEST_SUCCESS, ()):
        finished[sample.label("finished_reason") or ""] += sample.value
    histograms = {}
    for name in f.HISTOGRAMS:
        histogram = histogram_from_samples(name, by_family.get(name, ()))
        if histogram is not None:
            histograms[name] = histogram
    return PageValues(
        running=total(f.RUNNING),
        waiting=total(f.WAITING),
        kv_cache_usage=_mean(by_family.get(f.KV_CACHE_USAGE, ())),
        prompt_tokens=total(f.PROMPT_TOKENS),
        generation_tokens=total(f.GENERATION_TOKENS),
        finished=dict(finished),
        histograms=histograms,
        process_marker=_process_marker(by_family),
        bad_lines=parsed.bad_lines,
    )


def _by_current_family(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    """Samples grouped by family under its current name; a renamed family's samples are
    dropped when the page also has the family under its current name."""
    grouped: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        grouped[_family_of(sample.name)].append(sample)
    for old, new in f.RENAMED.items():
        old_samples = grouped.pop(old, None)
        if old_samples and new not in grouped:
            grouped[new] = [_renamed(s, old, new) for s in old_samples]
    return grouped


def _family_of(sample_name: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if sample_name.endswith(suffix):
            family = sample_name[: -len(suffix)]
            if family in f.HISTOGRAMS or family in f.RENAMED:
                return family
    return sample_name


def _renamed(sample: Sample, old: str, new: str) -> Sample:
    return Sample(new + sample.name[len(old) :], sample.labels, sample.value)


def _mean(samples: Sequence[Sample]) -> float | None:
    return sum(s.value for s in samples) / len(samples) if samples else None


def _process_marker(by_family: Mapping[str, Sequence[Sample]]) -> tuple[str, float] | None:
    for name in (f.PROCESS_START, f.REQUEST_SUCCESS_CREATED):
        samples = by_family.get(name)
        if samples:
            return name, min(s.value for s in samples)
    return None


def restarted_between(old: PageValues, new: PageValues) -> bool:
    """True when both pages name their process the same way and the names differ."""
    return process_changed(old.process_marker, new.process_marker)


ProcessMarker = tuple[str, float]


def process_changed(old: ProcessMarker | None, new: ProcessMarker | None) -> bool:
    """Two pages' process markers name different processes (both known, same family)."""
    if old is None or new is None:
        return False
    return old[0] == new[0] and old[1] != new[1]
