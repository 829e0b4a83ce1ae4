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
LOAD_BATCH = 20_000
FILTERS = {"weather:eq:Sunny": "2 items in 3", "light:eq:Dawn": "1 item in 20"}


def _metadata(n: int) -> dict:
    return {"weather": "Sunny" if n % 3 else "Rain", "light": "Dawn" if n % 20 == 0 else "Day"}


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _reference_path(args, what: str = "vectors") -> Path:
    name = args.db.rsplit("/", 1)[-1].replace(".", "_")
    return Path(args.index_dir) / f"reference-{name}-{what}.npy"


def _copy_vectors(connection, workspace_id: int, ids: list[int], block) -> None:
    """The block's vectors as the field's Embedding rows: COPY (binary) on PostgreSQL, bulk_create elsewhere."""
    from django.utils import timezone

    from metadata_site.media.models import Embedding

    now = timezone.now()
    if connection.vendor != "postgresql":
        Embedding.objects.bulk_create(
            [Embedding(workspace_id=workspace_id, item_id=pk, field="clip", vector=block[i].tobytes())
             for i, pk in enumerate(ids)], batch_size=2000)
        return
    with connection.cursor() as cursor:
        sql = (f"COPY {Embedding._meta.db_table} (workspace_id, item_id, field, vector, updated_at) "
               "FROM STDIN (FORMAT BINARY)")
        with cursor.cursor.copy(sql) as copy:
            copy.set_types(["int8", "int8", "text", "bytea", "timestamptz"])
            for i, pk in enumerate(ids):
                copy.write_row((workspace_id, pk, "clip", block[i].tobytes(), now))


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
    parser.add_argument("--rebuild", action="store_true", help="reuse the database, build the index again")
    parser.add_argument("--exact-check", type=int, default=0, help="queries also run through the real exact scan")
    args = parser.parse_args()
    _prepare_db(args.db, reuse=args.reuse or args.rebuild)
    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from metadata_site.items.services import NewItem, items_create_bulk
    from metadata_site.projects.models import Folder
    from metadata_site.schemas.models import MetadataSchema
    from metadata_site.workspaces.models import Workspace

    settings.VECTOR_INDEX_DIR = Path(args.index_dir)
    if args.reuse:
        _search(args, Workspace.objects.get(slug="bench"))
        return
    if args.rebuild:
        _build(args, Workspace.objects.get(slug="bench"))
        return
    call_command("migrate", verbosity=0)
    ws = Workspace.objects.create(name="bench", slug="bench")
    MetadataSchema.objects.create(workspace=ws, version=1, fields=[
        {"name": "clip", "type": "embedding", "dimension": DIM, "distance": "cosine", "options": [], "is_multi": False,
         "description": "", "unit": ""},
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"], "is_multi": False, "description": "",
         "unit": ""},
        {"name": "light", "type": "enum", "options": ["Dawn", "Day"], "is_multi": False, "description": "",
         "unit": ""},
    ])
    folder = Folder.objects.create(workspace=ws, name="bench")
    rng = np.random.default_rng(22)
    centres = rng.normal(size=(args.clusters, DIM)).astype(np.float32)
    # The vectors also go to a file next to the indexes: the exact reference of the recall (numpy over all of
    # them) reads it instead of 2 GB from the database.
    Path(args.index_dir).mkdir(parents=True, exist_ok=True)
    matrix = np.lib.format.open_memmap(_reference_path(args), mode="w+", dtype="<f4", shape=(args.n, DIM))
    started = time.perf_counter()
    pks: list[int] = []
    for start in range(0, args.n, LOAD_BATCH):
        count = min(LOAD_BATCH, args.n - start)
        labels = rng.integers(0, args.clusters, size=count)
        block = (centres[labels] + rng.normal(scale=0.6, size=(count, DIM)).astype(np.float32)).astype("<f4")
        matrix[start:start + count] = block
        with transaction.atomic():
            new = [NewItem(f"i{start + i:07d}", "image", "", _metadata(start + i)) for i in range(count)]
            ids = items_create_bulk(workspace=ws, folder_id=folder.pk, items=new)
            _copy_vectors(connection, ws.pk, ids, block)
        pks += ids
    matrix.flush()
    np.save(_reference_path(args, "ids"), np.asarray(pks, dtype=np.int64))
    del matrix
    load = time.perf_counter() - started
    print(f"{args.n:,} items and vectors written in {load:.1f} s ({connection.vendor}; load average {_load()})")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")  # as autovacuum would
    print(f"vacuum analyze done at {time.perf_counter() - started:.1f} s")

    _build(args, ws)


def _build(args, ws) -> None:
    from django.conf import settings

    from metadata_site.media import vectors

    rss_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"index build starts; load average {_load()}", flush=True)
    started, cpu = time.perf_counter(), time.process_time()
    shown = [0]

    def progress(percent: int) -> None:
        if percent >= shown[0] + 10:
            shown[0] = percent
            print(f"  {percent} % at {time.perf_counter() - started:.0f} s, load average {_load()}", flush=True)

    row = vectors.index_build(workspace_id=ws.pk, field="clip", progress=progress)
    build, cpu = time.perf_counter() - started, time.process_time() - cpu
    rss_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = (Path(settings.VECTOR_INDEX_DIR) / row.file_name).stat().st_size
    print(f"index build: {build:.1f} s wall, {cpu:.1f} s CPU (all threads) for {row.size:,} vectors; file {size / 2**20:.0f} MiB "
          f"({size / 2**20 * 1_000_000 / row.size:.0f} MiB per million vectors); peak RSS after the load "
          f"{rss_load:.0f} MB, after the build {rss_build:.0f} MB")

    print(f"load average after the build {_load()}")
    if not args.rebuild:
        _search(args, ws)


def _search(args, ws) -> None:
    """The approximate queries first (their peak RSS is a web process's), then the exact reference in numpy over
    the vectors' file, and the real exact scan for a few queries of the selective filter (it must agree)."""
    import numpy as np
    from django.conf import settings
    from django.http import QueryDict

    from metadata_site.explorer.query import items_matching, parse_query_string
    from metadata_site.media import vectors
    from metadata_site.media.models import Embedding
    from metadata_site.schemas.selectors import schema_current

    rng = np.random.default_rng(7)
    pks = np.load(_reference_path(args, "ids"))
    schema = schema_current(workspace=ws)
    field = vectors.field_of(schema.embedding("clip"))
    picks = rng.choice(len(pks), size=args.queries + 1, replace=False)
    queries = [np.frombuffer(bytes(Embedding.objects.get(item_id=int(pks[i]), field="clip").vector), dtype="<f4")
               for i in picks]
    settings.VECTOR_EXACT_MAX = 0
    answers = {}
    for spec in FILTERS:
        candidates = items_matching(parse_query_string(QueryDict(f"f={spec}"), schema=schema), schema=schema, workspace=ws)
        times, got = [], []
        for q in queries:
            t = time.perf_counter()
            got.append(vectors.nearest_by_vector(candidates, workspace=ws.pk, field=field, query=q, k=K))
            times.append((time.perf_counter() - t) * 1000)
        times.pop(0)  # the first query maps the index file
        answers[spec] = (candidates, got, times, _load())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mapped = sum((Path(args.index_dir) / name).stat().st_size for name in vectors._loaded) / 2**20
    status = Path("/proc/self/status")
    anon = ""
    if status.exists():  # Linux: the process's own memory, apart from the mapped files' pages
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        anon = (f"; now anonymous {int(fields['RssAnon'].split()[0]) / 1024:.0f} MB, file-backed "
                f"{int(fields['RssFile'].split()[0]) / 1024:.0f} MB")
    print(f"peak RSS of the searches {rss:.0f} MB, the mapped index files {mapped:.0f} MiB{anon}")

    matrix = np.load(_reference_path(args), mmap_mode="r")
    norms = np.concatenate([np.linalg.norm(matrix[i:i + 50_000].astype(np.float64), axis=1)
                            for i in range(0, len(matrix), 50_000)])
    position = {int(pk): n for n, pk in enumerate(pks)}
    for spec, (candidates, got, times, load) in answers.items():
        keep = np.fromiter((position[pk] for pk in candidates.values_list("pk", flat=True).iterator(chunk_size=50_000)),
                           dtype=np.int64)
        keep.sort()
        sub, sub_norms, sub_pks = matrix[keep], norms[keep], pks[keep]
        recalls, worst = [], 0.0
        for n, q in enumerate(queries):
            # float32 to shortlist 8k, float64 to order them (the shortlist's margin dwarfs float32's error)
            rough = 1 - (sub @ q) / (sub_norms.astype(np.float32) * np.linalg.norm(q))
            short = np.argpartition(rough, K * 8)[: K * 8]
            d = 1 - (sub[short].astype(np.float64) @ q.astype(np.float64)) / (sub_norms[short] * np.linalg.norm(q))
            top = short[np.lexsort((sub_pks[short], d))[:K]]
            exact = {int(sub_pks[i]) for i in top}
            recalls.append(len(exact & {pk for _, pk in got[n]}) / K)
            for dist, pk in got[n]:  # a distance shown is the exact one, whatever the index held
                ref = 1 - float(matrix[position[pk]].astype(np.float64) @ q.astype(np.float64)) / (
                    norms[position[pk]] * np.linalg.norm(q))
                worst = max(worst, abs(dist - ref))
        print(f"k={K}, filter {spec} ({FILTERS[spec]}, {len(keep):,} candidates), {len(times)} queries: median "
              f"{statistics.median(times):.1f} ms, p90 {sorted(times)[int(len(times) * 0.9)]:.1f} ms, recall@{K} mean "
              f"{statistics.mean(recalls):.3f} (min {min(recalls):.2f}), largest distance error {worst:.1e}; "
              f"load average {load}")
    if args.exact_check:
        spec = "light:eq:Dawn"
        candidates = answers[spec][0]
        settings.VECTOR_EXACT_SCAN_MAX = max(settings.VECTOR_EXACT_SCAN_MAX, len(pks))
        for n, q in enumerate(queries[: args.exact_check]):
            t = time.perf_counter()
            exact = vectors.exact_nearest(workspace=ws.pk, field=field, query=q, k=K, candidates=candidates)
            agree = len({pk for _, pk in exact} & {pk for _, pk in answers[spec][1][n]}) / K
            print(f"exact scan ({spec}): {(time.perf_counter() - t) * 1000:.0f} ms, overlap with the index's answer "
                  f"{agree:.2f}; load average {_load()}")


if __name__ == "__main__":
    main()
