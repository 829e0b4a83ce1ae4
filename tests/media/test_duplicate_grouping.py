"""The near-duplicate grouping (`lookalike.groups_of`, numpy multi-index hashing) against a brute-force reference:
every pair within the threshold compared, groups by union-find, the smallest id representing each group."""

import random

import numpy as np
import pytest

from metadata_site.media.lookalike import groups_of


def _reference(ids: list[int], hashes: list[int], bits: int) -> dict[int, int]:
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            if (hashes[a] ^ hashes[b]).bit_count() <= bits:
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
    roots = [find(i) for i in range(len(ids))]
    sizes: dict[int, int] = {}
    for r in roots:
        sizes[r] = sizes.get(r, 0) + 1
    return {ids[i]: ids[r] for i, r in enumerate(roots) if sizes[r] > 1}


def _flip(rng: random.Random, h: int, n: int) -> int:
    for bit in rng.sample(range(64), n):
        h ^= 1 << bit
    return h


def _planted(seed: int, count: int) -> tuple[list[int], list[int]]:
    """Random hashes, a third of them near copies (1 to 9 bits flipped, some chained, some exact) of an earlier
    one, and a few clustered in one 16-bit chunk value (large buckets)."""
    rng = random.Random(seed)
    hashes: list[int] = []
    for i in range(count):
        roll = rng.random()
        if i and roll < 0.3:
            hashes.append(_flip(rng, rng.choice(hashes), rng.randint(1, 9)))
        elif i and roll < 0.35:
            hashes.append(rng.choice(hashes))
        elif roll < 0.45:
            hashes.append((rng.getrandbits(48) << 16) | 0xBEEF)
        else:
            hashes.append(rng.getrandbits(64))
    ids = sorted(rng.sample(range(1, count * 10), count))
    return ids, hashes


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("bits", [0, 3, 7])
def test_groups_are_those_of_a_brute_force_comparison_of_every_pair(seed, bits):
    ids, hashes = _planted(seed, 700)
    assert groups_of(ids, hashes, bits=bits) == _reference(ids, hashes, bits)


def test_hashes_within_seven_bits_pair_whichever_chunks_their_bits_fall_in():
    rng = random.Random(5)
    for _ in range(200):
        base = rng.getrandbits(64)
        near = _flip(rng, base, 7)
        far = _flip(rng, base, 8)
        assert groups_of([1, 2], [base, near]) == {1: 1, 2: 1}
        assert groups_of([1, 2], [base, far]) == {}


def test_a_chain_of_near_copies_is_one_group_represented_by_its_smallest_id():
    rng = random.Random(9)
    hashes = [rng.getrandbits(64)]
    for _ in range(50):  # each 5 bits from the previous: the ends are far apart
        hashes.append(_flip(rng, hashes[-1], 5))
    ids = list(range(100, 151))[::-1]
    order = np.argsort(ids)
    ids_sorted = [ids[i] for i in order]
    hashes_sorted = [hashes[i] for i in order]
    groups = groups_of(ids_sorted, hashes_sorted)
    assert set(groups) == set(ids) and set(groups.values()) == {100}


def test_numpy_arrays_of_unsigned_hashes_are_accepted_and_empty_input_gives_no_groups():
    ids = np.array([3, 4, 5], dtype=np.int64)
    hashes = np.array([2**64 - 1, 2**64 - 2, 0], dtype=np.uint64)
    assert groups_of(ids, hashes) == {3: 3, 4: 3}
    assert groups_of([], []) == {}
    with pytest.raises(ValueError):
        groups_of([1, 2], [0, 1], bits=8)


def test_union_find_joined_block_by_block_gives_the_components_of_all_the_pairs():
    from metadata_site.media.unionfind import components, roots_of

    rng = np.random.default_rng(4)
    n = 500
    pairs = rng.integers(0, n, size=(2, 400))
    parent = None
    for start in range(0, 400, 37):  # blocks, as the grouping finds them
        parent = components(n, pairs[:, start:start + 37], parent)
    expected = list(range(n))

    def find(i):
        while expected[i] != i:
            i = expected[i]
        return i

    for a, b in pairs.T.tolist():
        ra, rb = find(a), find(b)
        expected[max(ra, rb)] = min(ra, rb)
    assert roots_of(parent).tolist() == [find(i) for i in range(n)]
