"""The simulator's model of vLLM's prefix cache: whole blocks, chained, LRU-bounded."""

from __future__ import annotations

from fleetdeck.hosts.sim_vllm.prefix_cache import PrefixCache


def words(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def test_only_whole_leading_blocks_below_the_last_token_hit() -> None:
    cache = PrefixCache(capacity_blocks=100, block_size=4)
    prompt = words("a", 10)  # blocks [0:4] [4:8], 2 tokens left over
    assert cache.lookup(prompt) == 0
    cache.insert(prompt)
    assert len(cache) == 2
    assert cache.lookup(prompt) == 8
    assert cache.lookup([*prompt[:8], "other"]) == 8
    # Exactly two blocks long: the last token is recomputed, so only the first block hits.
    assert cache.lookup(prompt[:8]) == 4
    assert cache.lookup(prompt[:3]) == 0


def test_a_block_hit_needs_the_same_prefix_before_it() -> None:
    cache = PrefixCache(capacity_blocks=100, block_size=4)
    cache.insert(words("a", 12))
    changed_first_block = ["x", *words("a", 12)[1:]]
    # Blocks 2 and 3 hold the same tokens, but their chained hashes differ.
    assert cache.lookup(changed_first_block) == 0


def test_the_least_recently_used_blocks_are_evicted() -> None:
    cache = PrefixCache(capacity_blocks=4, block_size=2)
    first, second, third = words("a", 5), words("b", 5), words("c", 5)
    cache.insert(first)  # 2 blocks
    cache.insert(second)  # 2 blocks: full
    assert cache.lookup(first) == 4  # a use: `second` is now the least recent
    cache.insert(third)
    assert len(cache) == 4
    assert cache.lookup(first) == 4
    assert cache.lookup(second) == 0
    assert cache.lookup(third) == 4
