"""Plausible generated text and rough token counts, with no tokenizer and no model.

The same prompt always gives the same answer (like temperature 0), so a test can compare
a streamed answer with a non-streamed one.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator

_WORDS = re.compile(r"\w+|[^\w\s]")
_SENTENCES = (
    "The fleet is healthy and every replica answered its last health check.",
    "Paris is the capital of France, and it sits on the river Seine.",
    "A small model can answer quickly when the batch is not too large.",
    "Requests wait in the queue until the scheduler finds room in the cache.",
    "Each token is produced one step at a time, after the prompt is read.",
    "Latency grows with the number of running requests on one device.",
    "The weather today is mild, with a light wind from the west.",
    "Good logs make a failure easy to explain to the next person on call.",
)


def count_tokens(text: str) -> int:
    """About one token per word or punctuation mark; at least one."""
    return max(1, len(_WORDS.findall(text)))


def split_tokens(text: str) -> list[str]:
    """The words and punctuation marks `count_tokens` counts: the prefix cache's tokens."""
    return _WORDS.findall(text)


def token_stream(prompt: str) -> Iterator[str]:
    """Endless tokens (a word or a punctuation mark, with its leading space)."""
    start = zlib.crc32(prompt.encode())
    index = 0
    while True:
        sentence = _SENTENCES[(start + index) % len(_SENTENCES)]
        for i, piece in enumerate(_WORDS.findall(sentence)):
            glued = not piece[0].isalnum() or (i == 0 and index == 0)
            yield piece if glued else f" {piece}"
        index += 1
