"""One short line per host's GPUs, e.g. "2× H100 51°C 37%", for a table cell.

Pure so that the wording is tested as plain strings. The hottest GPU's temperature is
shown (that is the one that throttles) and the mean utilisation (how busy the host is).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from fleetdeck.core.fleet.snapshot import GpuSnapshot

NO_VALUE = "—"

_VENDOR_WORDS = frozenset({"nvidia", "geforce", "tesla", "quadro"})
# Words after the model that say memory size or form factor: "80GB", "HBM3", "SXM4", "PCIe".
_DETAIL_WORD = re.compile(r"^(\d+GB|HBM\d*e?|SXM\d*|PCIE|NVL)$", re.IGNORECASE)


def short_gpu_name(name: str) -> str:
    """ "NVIDIA H100 80GB HBM3" -> "H100", "NVIDIA A100-SXM4-80GB" -> "A100"."""
    kept: list[str] = []
    for word in re.split(r"[\s\-]+", name.strip()):
        if not word or word.lower() in _VENDOR_WORDS:
            continue
        if _DETAIL_WORD.match(word):
            break
        kept.append(word)
    return " ".join(kept) or name.strip() or "GPU"


def summarize_gpus(gpus: Sequence[GpuSnapshot]) -> str:
    if not gpus:
        return NO_VALUE
    counts = Counter(short_gpu_name(gpu.name) for gpu in gpus)
    parts = [" + ".join(f"{count}× {name}" for name, count in counts.items())]
    temperatures = [g.temperature_c for g in gpus if g.temperature_c is not None]
    if temperatures:
        parts.append(f"{max(temperatures):.0f}°C")
    utilisations = [g.utilization_pct for g in gpus if g.utilization_pct is not None]
    if utilisations:
        parts.append(f"{sum(utilisations) / len(utilisations):.0f}%")
    return " ".join(parts)
