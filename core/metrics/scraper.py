"""GET <base_url>/metrics: the only I/O of the metrics pipeline.

A failed scrape is a result, not an exception: a replica that is loading refuses
connections, one that is dying answers 503, and the caller just records that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

DEFAULT_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class ScrapeResult:
    url: str
    at: float  # wall-clock time the request started (time.time())
    elapsed_s: float
    text: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None


async def scrape(client: httpx.AsyncClient, base_url: str, timeout: float) -> ScrapeResult:
    url = base_url.rstrip("/") + "/metrics"
    at = time.time()
    started = time.monotonic()

    def done(text: str | None = None, error: str | None = None) -> ScrapeResult:
        return ScrapeResult(url, at, time.monotonic() - started, text, error)

    try:
        response = await client.get(url, timeout=timeout)
    except httpx.TimeoutException:
        return done(error=f"no answer from {url} within {timeout:g} s")
    except httpx.HTTPError as exc:
        return done(error=f"{url}: {type(exc).__name__}: {exc}".rstrip(": "))
    if response.status_code != 200:
        return done(error=f"{url} answered HTTP {response.status_code}")
    return done(text=response.text)


async def scrape_all(
    client: httpx.AsyncClient,
    base_urls: Sequence[str],
    timeout: float,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> list[ScrapeResult]:
    """Every URL scraped, at most `concurrency` at once; results in the order given."""
    gate = asyncio.Semaphore(concurrency)

    async def one(base_url: str) -> ScrapeResult:
        async with gate:
            return await scrape(client, base_url, timeout)

    return list(await asyncio.gather(*(one(url) for url in base_urls)))
