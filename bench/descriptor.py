#!/usr/bin/env python3
"""The built-in visual descriptor's cost at thumbnail time: `decode.read_image` (decode, thumbnail, JPEG encode)
with and without the descriptor, on generated road scenes (nothing downloaded), best of several interleaved rounds.
Then, in memory (no database), the near-duplicate grouping (`lookalike.groups_of`) of --hashes random hashes
(a comma-separated list of counts) with a tenth of them near copies (3 bits flipped) of their predecessor, then
as many clustered hashes (those of generated road scenes with a few bits flipped: `_clustered`), and the
exact-search distance per candidate (`descriptor.distance`). With --db (a PostgreSQL database of that name is
dropped and made from scratch, migrated), --items items with such hashes are written (COPY) and the background
task's body (`lookalike.duplicate_scan_run`) is timed end to end, then its parts (read, group, write).

    .venv/bin/python bench/descriptor.py [--rounds 5] [--n 40] [--hashes 100000,1000000] [--skip-thumbnails]
    .venv/bin/python bench/descriptor.py --skip-thumbnails --hashes 0 \
        --db postgres://postgres@127.0.0.1:5432/ms_dupes_bench --items 1000000
    .venv/bin/python bench/descriptor.py --skip-thumbnails --hashes 0 --items 0 --vectors 20000 \
        --db postgres://postgres@127.0.0.1:5432/ms_dupes_bench

--vectors N (with --db): N items with a 512-d cosine embedding, a tenth near copies of another; their
near-duplicate groups (distance 0.01) exactly, then through the field's usearch index.
"""

import argparse
import io
import os
import resource
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")

SIZES = [(640, 480), (1920, 1080), (4000, 3000)]


def _jpeg(size) -> bytes:
    from metadata_site.lib.demo_scenes import render

    buf = io.BytesIO()
    render({"weather": "Sunny"}, seed=1, size=size).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _time(data: bytes, n: int) -> float:
    from metadata_site.media import decode

    started = time.perf_counter()
    for _ in range(n):
        decode.read_image(io.BytesIO(data))
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--hashes", default="100000")
    parser.add_argument("--skip-thumbnails", action="store_true")
    parser.add_argument("--db", default="")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--vectors", type=int, default=0, help="with --db: near-duplicates of N 512-d vectors too")
    args = parser.parse_args()
    if args.db:
        _prepare_db(args.db)
    import django

    django.setup()
    if not args.skip_thumbnails:
        _thumbnails(args)
    for count in (int(c) for c in args.hashes.split(",") if int(c)):
        _lookalike(count)
    if args.db and args.items:
        _end_to_end(args.items)
    if args.db and args.vectors:
        _vectors(args.vectors)


def _thumbnails(args) -> None:
    from metadata_site.media import decode

    real = decode.describe
    for size in SIZES:
        data = _jpeg(size)
        n = max(10, args.n * 640 * 480 // (size[0] * size[1]))
        without = with_descriptor = float("inf")
        for _ in range(args.rounds):  # interleaved, best of each: the machine's other load varies
            decode.describe = lambda im: (None, None)
            without = min(without, _time(data, n))
            decode.describe = real
            with_descriptor = min(with_descriptor, _time(data, n))
        print(f"{size[0]}×{size[1]} JPEG: thumbnail {without * 1000:.2f} ms, with descriptor {with_descriptor * 1000:.2f} ms"
              f" (+{(with_descriptor - without) * 1000:.2f} ms, +{100 * (with_descriptor / without - 1):.0f} %)")


def _planted(count: int):
    """`count` random unsigned 64-bit hashes, every tenth a near copy (3 bits flipped) of its predecessor."""
    import numpy as np

    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 2**64, size=count, dtype=np.uint64)
    copies = np.arange(10, count, 10)
    hashes[copies] = hashes[copies - 1]
    for _ in range(3):
        hashes[copies] ^= np.uint64(1) << rng.integers(0, 64, size=len(copies)).astype(np.uint64)
    return hashes


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _clustered(count: int):
    """`count` hashes like those of a dataset of similar pictures: the hashes of 1,000 generated road scenes
    (`demo_scenes`, the same few layouts: their difference hashes share long runs of bits), each drawn at random
    and then given up to 12 random bit flips (8 in 10 chances each)."""
    import numpy as np

    from metadata_site.lib.demo_scenes import render
    from metadata_site.media.descriptor import describe, to_unsigned

    scenes = np.array([to_unsigned(describe(render({}, seed=s, size=(320, 240)))[0]) for s in range(1000)],
                      dtype=np.uint64)
    rng = np.random.default_rng(2)
    hashes = scenes[rng.integers(0, len(scenes), count)]
    for _ in range(12):
        flip = rng.random(count) < 0.8
        hashes[flip] ^= np.uint64(1) << rng.integers(0, 64, int(flip.sum())).astype(np.uint64)
    return hashes


def _lookalike(count: int) -> None:
    import struct

    import numpy as np

    from metadata_site.media.descriptor import distance
    from metadata_site.media.lookalike import groups_of

    for label, make in (("random hashes, a tenth near copies", _planted), ("clustered hashes", _clustered)):
        hashes = make(count)
        before = _rss()
        started = time.perf_counter()
        groups = groups_of(np.arange(count), hashes)
        print(f"near-duplicate groups of {count:,} {label}: {time.perf_counter() - started:.2f} s, "
              f"{len(set(groups.values())):,} groups of {len(groups):,} items; peak RSS {_rss():.0f} MB "
              f"({before:.0f} MB before)")
        del groups
    hashes = _planted(count)
    colour = struct.unpack("<64f", struct.pack("<64f", *([1 / 64] * 64)))
    started = time.perf_counter()
    hashes = hashes[:20_000].tolist()
    for h in hashes:
        distance(hashes[0], colour, h, colour)
    per = (time.perf_counter() - started) / 20_000
    print(f"exact search: {per * 1e6:.1f} µs a candidate in Python (about {per * 1e5:.1f} s per 100,000 candidates)")


def _prepare_db(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "false")  # DEBUG keeps every statement
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    if url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')


def _end_to_end(count: int) -> None:
    import uuid

    from django.core.management import call_command
    from django.db import connection, transaction

    from metadata_site.items.models import Item
    from metadata_site.media import lookalike
    from metadata_site.projects.models import Folder
    from metadata_site.workspaces.models import Workspace

    if connection.vendor != "postgresql":
        raise SystemExit("--db: a PostgreSQL database")
    call_command("migrate", verbosity=0)
    ws = Workspace.objects.create(name="bench", slug="bench")
    folder = Folder.objects.create(workspace=ws, name="bench")
    signed = _planted(count).view("int64").tolist()
    started = time.perf_counter()
    columns = "workspace_id, folder_id, uid, title, kind, media_url, client_metadata, created_at, updated_at, phash"
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {Item._meta.db_table} ({columns}) FROM STDIN") as copy:
            for i, phash in enumerate(signed):
                copy.write_row((ws.pk, folder.pk, uuid.uuid4(), f"i{i:07d}.jpg", "image", "", "{}", "now", "now",
                                phash))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{count:,} items written in {time.perf_counter() - started:.1f} s")
    before = _rss()
    started = time.perf_counter()
    result = lookalike.duplicate_scan_run(workspace_id=ws.pk)
    print(f"duplicate_scan_run (the find_duplicates task's body) on {count:,} items: "
          f"{time.perf_counter() - started:.1f} s, {result}; peak RSS {_rss():.0f} MB ({before:.0f} MB before)")
    started = time.perf_counter()
    ids, hashes = lookalike.duplicate_hashes(workspace=ws)
    read = time.perf_counter() - started
    started = time.perf_counter()
    groups = lookalike.groups_of(ids, hashes)
    group = time.perf_counter() - started
    started = time.perf_counter()
    lookalike.duplicate_groups_write(workspace=ws, groups=groups)
    print(f"  its parts, run again: read {read:.1f} s, group {group:.1f} s, "
          f"write {time.perf_counter() - started:.1f} s (clear the previous groups and set {len(groups):,})")


def _vectors(count: int, dim: int = 512) -> None:
    """Near-duplicates by an embedding field of `count` 512-d vectors (cosine), a tenth of them near copies of
    another (noise 1 % of the norm): `vector_dupes.groups_by_vector` exactly, then through the field's usearch
    index (built by the worker's own `index_build`), and the groups of each compared."""
    import tempfile

    import numpy as np
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from metadata_site.items.services import NewItem, items_create_bulk
    from metadata_site.media import vector_dupes, vectors
    from metadata_site.media.models import Embedding
    from metadata_site.projects.models import Folder
    from metadata_site.schemas.models import MetadataSchema
    from metadata_site.workspaces.models import Workspace

    call_command("migrate", verbosity=0)
    settings.VECTOR_INDEX_DIR = Path(tempfile.mkdtemp(prefix="bench-dupes-index-"))
    ws = Workspace.objects.create(name="vectors", slug="vectors")
    MetadataSchema.objects.create(workspace=ws, version=1, fields=[
        {"name": "clip", "type": "embedding", "dimension": dim, "distance": "cosine", "options": [], "is_multi": False,
         "description": "", "unit": ""}])
    folder = Folder.objects.create(workspace=ws, name="vectors")
    rng = np.random.default_rng(22)
    matrix = rng.normal(size=(count, dim)).astype(np.float32)
    copies = np.arange(10, count, 10)
    matrix[copies] = matrix[copies - 1] + rng.normal(scale=0.01, size=(len(copies), dim)).astype(np.float32)
    started = time.perf_counter()
    for start in range(0, count, 10_000):
        block = matrix[start:start + 10_000]
        with transaction.atomic():
            ids = items_create_bulk(workspace=ws, folder_id=folder.pk,
                                    items=[NewItem(f"v{start + i:07d}", "image", "", {}) for i in range(len(block))])
            Embedding.objects.bulk_create([Embedding(workspace=ws, item_id=pk, field="clip", vector=block[i].tobytes())
                                           for i, pk in enumerate(ids)], batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{count:,} items with {dim}-d vectors written in {time.perf_counter() - started:.1f} s")
    field = vectors.Field(name="clip", dimension=dim, distance="cosine")
    before = _rss()
    settings.VECTOR_EXACT_MAX = count
    started = time.perf_counter()
    exact = vector_dupes.groups_by_vector(workspace_id=ws.pk, field=field, threshold=0.01)
    print(f"near-duplicates by the embedding, exact (every pair): {time.perf_counter() - started:.1f} s, "
          f"{len(set(exact.values())):,} groups of {len(exact):,} items; peak RSS {_rss():.0f} MB ({before:.0f} before)")
    started = time.perf_counter()
    vectors.index_build(workspace_id=ws.pk, field="clip")
    print(f"  the field's index built in {time.perf_counter() - started:.1f} s")
    settings.VECTOR_EXACT_MAX = 0
    started = time.perf_counter()
    found = vector_dupes.groups_by_vector(workspace_id=ws.pk, field=field, threshold=0.01)
    same = found == exact
    print(f"near-duplicates by the embedding, through the index: {time.perf_counter() - started:.1f} s, "
          f"{len(set(found.values())):,} groups of {len(found):,} items; the same groups as exact: {same}; "
          f"peak RSS {_rss():.0f} MB")


if __name__ == "__main__":
    main()
