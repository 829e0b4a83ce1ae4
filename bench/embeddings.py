#!/usr/bin/env python3
"""Find similar by an embedding field: k nearest neighbours (k = 50) among N vectors of 512 dimensions with the
explorer's filter `weather:eq:Sunny` applied (2 items in 3), through `media.vectors.nearest_by_vector`, the code the
explorer and the API run: the approximate index (usearch HNSW, over-fetch then filter) and the exact scan (numpy,
batches), median ms over --queries queries, recall@50 of the index against the exact result, the index's build
time and file size (per million vectors), and the process's peak RSS.

The vectors are clustered (--clusters centres, Gaussian noise), as real embeddings are, not uniform noise. The
database is made from scratch in --db (dropped first when it is a PostgreSQL database of that name):

    .venv/bin/python bench/embeddings.py --db postgres://postgres@127.0.0.1:5432/ms_embeddings_bench --n 100000

`--reuse` skips the load and the build (the database and the index file of an earlier run), so the peak RSS it
prints is that of a process that only searches, as a web process does.
"""

import argparse
import os
import resource
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DIM = 512
K = 50


def _prepare_db(url: str, *, reuse: bool) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "false")  # DEBUG keeps every statement (and its megabytes of vectors)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")
    if reuse:
        return
    if url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    elif url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--index-dir", default=str(Path(tempfile.gettempdir()) / "bench-vector-indexes"))
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    _prepare_db(args.db, reuse=args.reuse)
    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from metadata_site.items.services import NewItem, items_create_bulk
    from metadata_site.media import vectors
    from metadata_site.media.models import Embedding
    from metadata_site.projects.models import Folder
    from metadata_site.schemas.models import MetadataSchema
    from metadata_site.workspaces.models import Workspace

    settings.VECTOR_INDEX_DIR = Path(args.index_dir)
    if args.reuse:
        _search(args, Workspace.objects.get(slug="bench"))
        return
    call_command("migrate", verbosity=0)
    ws = Workspace.objects.create(name="bench", slug="bench")
    MetadataSchema.objects.create(workspace=ws, version=1, fields=[
        {"name": "clip", "type": "embedding", "dimension": DIM, "distance": "cosine", "options": [], "is_multi": False,
         "description": "", "unit": ""},
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"], "is_multi": False, "description": "",
         "unit": ""},
    ])
    folder = Folder.objects.create(workspace=ws, name="bench")
    rng = np.random.default_rng(22)
    centres = rng.normal(size=(args.clusters, DIM)).astype(np.float32)
    started = time.perf_counter()
    pks: list[int] = []
    for start in range(0, args.n, 10_000):
        count = min(10_000, args.n - start)
        labels = rng.integers(0, args.clusters, size=count)
        block = centres[labels] + rng.normal(scale=0.6, size=(count, DIM)).astype(np.float32)
        with transaction.atomic():
            new = [NewItem(f"i{start + i:07d}", "image", "", {"weather": "Sunny" if (start + i) % 3 else "Rain"})
                   for i in range(count)]
            ids = items_create_bulk(workspace=ws, folder_id=folder.pk, items=new)
            Embedding.objects.bulk_create(
                [Embedding(workspace=ws, item_id=pk, field="clip", vector=block[i].astype("<f4").tobytes())
                 for i, pk in enumerate(ids)], batch_size=2000)
        pks += ids
    load = time.perf_counter() - started
    print(f"{args.n:,} items and vectors written in {load:.1f} s ({connection.vendor})")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would, after a bulk load

    rss_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), time.process_time()
    row = vectors.index_build(workspace_id=ws.pk, field="clip")
    build, cpu = time.perf_counter() - started, time.process_time() - cpu
    rss_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = (Path(settings.VECTOR_INDEX_DIR) / row.file_name).stat().st_size
    print(f"index build: {build:.1f} s wall, {cpu:.1f} s CPU (all threads) for {row.size:,} vectors; file {size / 2**20:.0f} MiB "
          f"({size / 2**20 * 1_000_000 / row.size:.0f} MiB per million vectors); peak RSS after the load "
          f"{rss_load:.0f} MB, after the build {rss_build:.0f} MB")

    _search(args, ws)


def _search(args, ws) -> None:
    import numpy as np
    from django.conf import settings
    from django.http import QueryDict

    from metadata_site.explorer.query import items_matching, parse_query_string
    from metadata_site.media import vectors
    from metadata_site.media.models import Embedding
    from metadata_site.schemas.selectors import schema_current

    rng = np.random.default_rng(7)
    pks = list(Embedding.objects.filter(workspace=ws, field="clip").values_list("item_id", flat=True))
    schema = schema_current(workspace=ws)
    field = vectors.field_of(schema.embedding("clip"))
    query = parse_query_string(QueryDict("f=weather:eq:Sunny"), schema=schema)
    candidates = items_matching(query, schema=schema, workspace=ws)
    picks = rng.choice(len(pks), size=args.queries, replace=False)
    approx_ms, exact_ms, recalls = [], [], []
    for n, i in enumerate(picks):
        q = np.frombuffer(bytes(Embedding.objects.get(item_id=pks[i], field="clip").vector), dtype="<f4")
        settings.VECTOR_EXACT_MAX = 0
        t = time.perf_counter()
        got = vectors.nearest_by_vector(candidates, workspace=ws.pk, field=field, query=q, k=K)
        approx_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        exact = vectors.exact_nearest(workspace=ws.pk, field=field, query=q, k=K, candidates=candidates)
        exact_ms.append((time.perf_counter() - t) * 1000)
        recalls.append(len({pk for _, pk in got} & {pk for _, pk in exact}) / K)
        if n == 0:
            approx_ms.pop()  # the first query maps the index file
            exact_ms.pop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"k={K}, filter weather:eq:Sunny, {len(approx_ms)} queries: index median {statistics.median(approx_ms):.1f} ms "
          f"(p90 {sorted(approx_ms)[int(len(approx_ms) * 0.9)]:.1f}), exact median {statistics.median(exact_ms):.1f} ms, "
          f"recall@{K} mean {statistics.mean(recalls):.3f} (min {min(recalls):.2f}); peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
