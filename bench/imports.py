#!/usr/bin/env python3
"""Import benchmark: metadata rows on existing items and a data import creating items, end to end.

    # PostgreSQL, 1,000,000 rows (the database is dropped and created again)
    .venv/bin/python bench/imports.py --db postgres://postgres@127.0.0.1:5432/ms_imports_bench --rows 1000000
    # SQLite, 100,000 rows (the file is deleted and created again)
    .venv/bin/python bench/imports.py --db sqlite:///var/bench_imports.sqlite3 --rows 100000

For each scenario and run: a fresh target (metadata reset to {} on the existing items, or a new
folder), then the clock runs from the upload (the corpus file streamed into MEDIA_ROOT through
`import_task_upload`) until the task is COMPLETED, with the import executed by a real
`manage.py db_worker` process whose peak RSS (VmHWM) is sampled. Reported: the median of --runs
runs, and a naive one-ORM-save-per-row loop (validation included, the same data) timed on
--naive-rows rows and extrapolated. Not timed: the background work the import queues when it is done, a
VACUUM (ANALYZE) or, after an import that suspended the explorer's indexes (--with-indexes, see
explorer/indexes.py), their rebuild (the same worker runs it before the next run; its time is printed
apart), and, on PostgreSQL, a VACUUM after the reset of the items' metadata between runs, so that every
run starts from the same tables.

Scenarios:
  metadata  JSONL corpus (media_id, title, metadata), merge mode, on N existing items
  data      a JSON spec {"images": [{objectUrl, title, clientMetadata}]} creating N items in a folder
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")


def _reset_database(url: str) -> None:
    if url.startswith("sqlite:"):
        path = Path(url.split("sqlite://", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _corpus(generator: str, rows: int, directory: Path) -> Path:
    path = directory / f"corpus-{rows}.jsonl"
    with path.open("w") as out:
        subprocess.run([sys.executable, generator, str(rows)], stdout=out, check=True)
    return path


def _data_spec(corpus: Path, directory: Path) -> Path:
    """The corpus as a data-import spec, written as a stream."""
    path = directory / f"{corpus.stem}-spec.json"
    if path.exists() and path.stat().st_mtime > corpus.stat().st_mtime:
        return path
    with corpus.open() as src, path.open("w") as out:
        out.write('{"images": [\n')
        for n, line in enumerate(src):
            row = json.loads(line)
            image = {"objectUrl": row["metadata"]["source"], "title": row["title"], "clientMetadata": row["metadata"]}
            out.write(("," if n else "") + json.dumps(image, separators=(",", ":")) + "\n")
        out.write("]}\n")
    return path


class Worker:
    """`manage.py db_worker` in a subprocess; `peak_rss_mb` is its VmHWM sampled until it exits."""

    def __init__(self, env: dict, *extra: str):
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1", *extra],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.peak_kb = 0

    def sample(self) -> None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        except OSError:
            pass

    def stop(self) -> None:
        self.sample()
        self.proc.terminate()
        self.proc.wait(timeout=60)

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="postgres://.../ms_imports_bench or sqlite:///path (recreated)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default="metadata,data")
    parser.add_argument("--naive-rows", type=int, default=2_000, help="rows timed for the naive loop")
    parser.add_argument("--generator", default="../shared/bench/gen_metadata.py",
                        help="the shared corpus generator (default: ../shared/bench/gen_metadata.py)")
    parser.add_argument("--workdir", help="where the corpus and MEDIA_ROOT go (default: a temporary directory)")
    parser.add_argument("--with-indexes", action="store_true",
                        help="build the explorer's indexes and typed projection for the workspace first (as "
                             "declaring the fields does), so every write also maintains them")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database, the workspace and its items, and the corpus in --workdir, from an "
                             "earlier run with the same --rows (to alternate two checkouts on the same tables; "
                             "metadata scenario only)")
    args = parser.parse_args()
    if args.reuse and (not args.workdir or args.with_indexes or args.scenarios != "metadata"):
        parser.error("--reuse needs --workdir and --scenarios metadata, without --with-indexes")

    if not args.reuse:
        _reset_database(args.db)
    os.environ["DATABASE_URL"] = args.db
    os.environ["DATABASE_CONN_MAX_AGE"] = "0"
    # Production settings for the worker (DEBUG keeps a log of every statement).
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    # The 10,000,000-item spec is 2.8 GB, past the default limit of an upload (2 GiB).
    os.environ.setdefault("IMPORT_MAX_UPLOAD_BYTES", str(16 * 1024**3))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ms-imports-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    media = workdir / "media"
    os.environ["MEDIA_ROOT"] = str(media)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from metadata_site.imports.models import ImportTask
    from metadata_site.imports.services import import_task_create, import_task_upload_path
    from metadata_site.items.models import ChangeSet, Item
    from metadata_site.lib.corpus import schema_fields
    from metadata_site.lib.maintenance import vacuum_analyze
    from metadata_site.projects.models import Folder
    from metadata_site.schemas.models import MetadataSchema
    from metadata_site.schemas.selectors import schema_current
    from metadata_site.schemas.validation import validate_metadata
    from metadata_site.workspaces.models import Workspace

    vendor = connection.vendor
    print(f"{vendor}: {args.rows:,} rows, {args.runs} runs, workdir {workdir}", flush=True)
    t = time.perf_counter()
    corpus = workdir / f"corpus-{args.rows}.jsonl"
    # The generator prints the same bytes for the same N: a corpus already in --workdir is used as it is.
    if not (args.workdir and corpus.exists()):
        corpus = _corpus(args.generator, args.rows, workdir)
    print(f"corpus generated in {time.perf_counter() - t:.1f} s ({corpus.stat().st_size / 1e6:.0f} MB)", flush=True)

    ws = Workspace.objects.filter(slug="bench").first() if args.reuse else None
    if ws is None:
        ws = Workspace.objects.create(slug="bench", name="Bench")
        MetadataSchema.objects.create(workspace=ws, version=1, fields=schema_fields())
    schema = schema_current(workspace=ws)
    if args.with_indexes:
        from metadata_site.explorer.tasks import build_field_indexes

        t = time.perf_counter()
        built = build_field_indexes.call(workspace_id=ws.pk)  # the field indexes and the typed projection
        print(f"explorer indexes and projection: {built} in {time.perf_counter() - t:.1f} s", flush=True)
    env = {**os.environ}
    results: dict = {"vendor": vendor, "rows": args.rows, "runs": args.runs, "with_indexes": args.with_indexes,
                     "scenarios": {}}

    maintenance: list[float] = []

    def run_import(kind: str, path: Path, target: dict) -> tuple[float, float, ImportTask]:
        worker = Worker(env)
        time.sleep(1.0)  # let the worker start before the clock does
        start, start_wall = time.perf_counter(), time.time()
        task = import_task_create(workspace=ws, user=None, kind=kind, target=target, mode="merge",
                                  dry_run=False, policy="skip_bad_rows")
        import_task_upload_path(task=task, path=path)
        while True:
            worker.sample()
            status = ImportTask.objects.filter(pk=task.pk).values_list("status", flat=True).get()
            if status not in ("VALIDATING", "RUNNING"):
                break
            if worker.proc.poll() is not None:
                raise SystemExit(f"the worker exited with {worker.proc.returncode}")
            time.sleep(0.2)
        # Up to the moment the worker set the status (its finished_at; the same machine's clock), not up to
        # when this loop happened to look.
        finished_at = ImportTask.objects.filter(pk=task.pk).values_list("finished_at", flat=True).get()
        elapsed = finished_at.timestamp() - start_wall if finished_at else time.perf_counter() - start
        # The import queues a VACUUM (ANALYZE) of the item tables when it is done (not in the import time):
        # let the same worker run it, so the next run starts from clean tables.
        from django_tasks_db.models import DBTaskResult

        started = time.perf_counter()
        while DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists():
            worker.sample()
            time.sleep(0.2)
        maintenance.append(time.perf_counter() - started)
        worker.stop()
        task.refresh_from_db()
        return elapsed, worker.peak_rss_mb, task

    def report(name: str, times: list[float], rss: list[float], naive_rate: float, extra: dict) -> None:
        median = statistics.median(times)
        rate = args.rows / median
        results["scenarios"][name] = {
            "seconds": times, "median_seconds": median, "rows_per_second": rate, "peak_rss_mb": max(rss),
            "naive_rows_per_second": naive_rate, "speedup_vs_naive": rate / naive_rate, **extra,
        }
        print(f"{name}: median {median:.1f} s = {rate:,.0f} rows/s; runs {', '.join(f'{t:.1f}' for t in times)} s; "
              f"worker peak RSS {max(rss):.0f} MB; naive {naive_rate:,.0f} rows/s -> x{rate / naive_rate:.1f}; "
              f"background work after each run (VACUUM ANALYZE or index rebuild) "
              f"{', '.join(f'{t:.1f}' for t in maintenance)} s", flush=True)
        results["scenarios"][name]["maintenance_seconds"] = list(maintenance)
        maintenance.clear()

    scenarios = args.scenarios.split(",")
    if "metadata" in scenarios:
        folder = Folder.objects.filter(workspace=ws, name="existing").first()
        if folder is not None and Item.objects.filter(folder=folder).count() != args.rows:
            raise SystemExit("--reuse: the folder 'existing' does not hold --rows items")
        folder = folder or Folder.objects.create(workspace=ws, name="existing")
        t = time.perf_counter()
        batch = []
        reused = Item.objects.filter(folder=folder).exists()
        with corpus.open() as f:
            for line in [] if reused else f:
                row = json.loads(line)
                batch.append(Item(workspace=ws, folder=folder, uid=uuid.UUID(row["media_id"]), title=row["title"],
                                  media_url=row["metadata"]["source"]))
                if len(batch) == 20_000:
                    Item.objects.bulk_create(batch)
                    batch = []
        Item.objects.bulk_create(batch)
        print(f"{args.rows:,} items {'reused' if reused else 'created'} in {time.perf_counter() - t:.1f} s (setup, not timed)", flush=True)
        times, rss = [], []
        for run in range(args.runs):
            Item.objects.filter(folder=folder).update(client_metadata={})
            ChangeSet.objects.filter(workspace=ws).delete()
            # Setup, not timed: the reset leaves a dead version of every item (a no-op on SQLite).
            vacuum_analyze(Item)
            elapsed, peak, task = run_import("metadata_rows", corpus, {})
            assert task.status == "COMPLETED" and task.updated_rows == args.rows, (task.status, task.updated_rows,
                                                                                  task.sample_errors[:3])
            print(f"  metadata run {run + 1}: {elapsed:.1f} s, {args.rows / elapsed:,.0f} rows/s, RSS {peak:.0f} MB",
                  flush=True)
            times.append(elapsed)
            rss.append(peak)
        # The naive loop: one get and one save per row, with the same validation, on a subset.
        Item.objects.filter(folder=folder).update(client_metadata={})
        rows = []
        with corpus.open() as f:
            for line, _ in zip(f, range(args.naive_rows), strict=False):
                rows.append(json.loads(line))
        t = time.perf_counter()
        for row in rows:
            item = Item.objects.get(workspace=ws, uid=row["media_id"])
            normalised, errors = validate_metadata(schema, row["metadata"], partial=True, item_kind=item.kind)
            item.client_metadata = {**item.client_metadata, **normalised}
            item.save()
        naive = len(rows) / (time.perf_counter() - t)
        report("metadata rows (JSONL, merge, existing items)", times, rss, naive, {"file_mb": corpus.stat().st_size / 1e6})

    if "data" in scenarios:
        spec = _data_spec(corpus, workdir)
        times, rss = [], []
        for run in range(args.runs):
            folder = Folder.objects.create(workspace=ws, name=f"data-{run}")
            elapsed, peak, task = run_import("data", spec, {"folder": folder.pk})
            assert task.status == "COMPLETED" and task.inserted_rows == args.rows, (task.status, task.inserted_rows,
                                                                                   task.sample_errors[:3])
            print(f"  data run {run + 1}: {elapsed:.1f} s, {args.rows / elapsed:,.0f} items/s, RSS {peak:.0f} MB",
                  flush=True)
            times.append(elapsed)
            rss.append(peak)
        folder = Folder.objects.create(workspace=ws, name="naive")
        rows = []
        with corpus.open() as f:
            for line, _ in zip(f, range(args.naive_rows), strict=False):
                rows.append(json.loads(line))
        t = time.perf_counter()
        for row in rows:
            if Item.objects.filter(folder=folder, title=row["title"]).exists():
                continue
            normalised, errors = validate_metadata(schema, row["metadata"], item_kind="image")
            Item(workspace=ws, folder=folder, title=row["title"], media_url=row["metadata"]["source"],
                 client_metadata=normalised).save()
        naive = len(rows) / (time.perf_counter() - t)
        report("data import (JSON spec, new items)", times, rss, naive, {"file_mb": spec.stat().st_size / 1e6})

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
