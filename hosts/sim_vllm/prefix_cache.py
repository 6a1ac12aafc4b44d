"""vLLM's automatic prefix cache, modelled: chained block hashes in a bounded LRU.

vLLM splits a prompt's tokens into blocks of `block_size`; a full block's hash covers its
tokens and its parent block's hash, so a block hash names the whole prefix up to it. A
new request reuses the longest run of leading blocks already cached, and never its very
last token (vLLM recomputes at least one token to produce logits). Tokens here are the
simulator's own (sample_text's words and punctuation), not a model tokenizer's.

Simplification: vLLM keeps cached blocks inside the KV cache and evicts only blocks no
running request holds; this cache has its own capacity (the KV cache's block count) and
evicts the least recently used block regardless of running requests.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

DEFAULT_BLOCK_SIZE = 16  # vLLM's default --block-size on GPU


class PrefixCache:
    def __init__(self, capacity_blocks: int, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
        if block_size <= 0:
            raise ValueError(f"block size must be positive, not {block_size}")
        self.block_size = block_size
        self._capacity = max(1, capacity_blocks)
        self._blocks: OrderedDict[int, None] = OrderedDict()  # hash, least recent first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._blocks)

    def lookup(self, tokens: Sequence[str]) -> int:
        """How many leading tokens are cached (whole blocks, below the last token)."""
        hashes = self._block_hashes(tokens[: max(0, len(tokens) - 1)])
        hit_blocks = 0
        with self._lock:
            for block_hash in hashes:
                if block_hash not in self._blocks:
                    break
                self._blocks.move_to_end(block_hash)  # a hit is a use
                hit_blocks += 1
        return hit_blocks * self.block_size

    def insert(self, tokens: Sequence[str]) -> None:
        """Cache the prompt's full blocks (after its prefill computed them)."""
        hashes = self._block_hashes(tokens)
        with self._lock:
            for block_hash in hashes:
                self._blocks[block_hash] = None
                self._blocks.move_to_end(block_hash)
            while len(self._blocks) > self._capacity:
                self._blocks.popitem(last=False)

    def _block_hashes(self, tokens: Sequence[str]) -> list[int]:
        hashes: list[int] = []
        parent = 0
        size = self.block_size
        for start in range(0, len(tokens) - size + 1, size):
            # Python's tuple hash: stable within the process, which is all a cache needs.
            parent = hash((parent, tuple(tokens[start : start + size])))
            hashes.append(parent)
        return hashes
