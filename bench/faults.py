#!/usr/bin/env python3
"""Large faults: the worker killed with SIGKILL at random points of a large import, then restarted.

    .venv/bin/python bench/faults.py [--db postgres://postgres@127.0.0.1:5432/ms_faults_bench] [--rows 200000]
        [--kills 5] [--seed 1] [--scenarios metadata,data]

For each scenario, the same file is imported twice into the same starting state: once by a worker left alone
(the reference), once by a worker that is killed with SIGKILL at random moments (`--kills` times: once
while it checks the file, then each time the committed offset passes a random row, a random 0–1 s later, so the
kill lands inside a batch) and started again after `recover_tasks`, as an operator or
`make run` would. The final states are then compared: every item's uid, title, kind and metadata (one digest
over all of them, plus the item count: no lost and no doubled rows), the task's counters and the number of
change-set entries. The script exits non-zero when they differ.

Scenarios:
  metadata  corpus metadata rows (JSONL, merge) onto N existing items without metadata
  data      a data import (JSON spec) creating N items with metadata in an empty folder

It recreates its database; it is run by `make bench`, not by `make test` (a run takes minutes).
"""

import argparse
import json
import os
import random
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
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/ms_faults_bench")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenarios", default="metadata,data")
    parser.add_argument("--generator", default="../shared/bench/gen_metadata.py")
    args = parser.parse_args()
    generator = args.generator if os.path.isabs(args.generator) else str((ROOT / args.generator).resolve())

    _reset_database(args.db)
    workdir = Path(tempfile.mkdtemp(prefix="ms-faults-"))
    os.environ.update({"DATABASE_URL": args.db, "DATABASE_CONN_MAX_AGE": "0", "DEBUG": "false",
                       "SECRET_KEY": "bench-only-secret-key-" + "x" * 40, "MEDIA_ROOT": str(workdir / "media")})
    env = {**os.environ}

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from metadata_site.imports.models import ImportTask
    from metadata_site.imports.services import import_task_create, import_task_upload_path
    from metadata_site.items.models import ChangeSet, Item
    from metadata_site.lib.corpus import schema_fields
    from metadata_site.projects.models import Folder
    from metadata_site.schemas.models import MetadataSchema
    from metadata_site.workspaces.models import Workspace

    call_command("migrate", verbosity=0)
    corpus = workdir / "corpus.jsonl"
    with corpus.open("w") as out:
        subprocess.run([sys.executable, generator, str(args.rows)], stdout=out, check=True)
    ws = Workspace.objects.create(slug="faults", name="Faults")
    MetadataSchema.objects.create(workspace=ws, version=1, fields=schema_fields())
    rng = random.Random(args.seed)

    def digest(folder: Folder, *, uids: bool = True) -> tuple[int, str]:
        """Item count and one digest of every item of the folder. A data import gives its new items new uids
        on every run, so there only what the file decides is compared (title, kind, metadata)."""
        row = "uid::text || '|' || title" if uids else "title"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg({row} || '|' || kind || '|' || client_metadata::text, "
                "E'\\n' ORDER BY title, uid), '')) FROM items_item WHERE folder_id = %s",
                (folder.pk,),
            )
            return cursor.fetchone()

    def run(kind: str, path: Path, folder: Folder, *, kills: int) -> tuple[ImportTask, list[float], float]:
        task = import_task_create(workspace=ws, user=None, kind=kind, target={"folder": folder.pk}, mode="merge",
                                  dry_run=False, policy="skip_bad_rows")
        start = time.perf_counter()
        import_task_upload_path(task=task, path=path)
        worker = _worker(env)
        killed_at: list[float] = []
        # Kill points spread over the whole file: one during the check pass, the others once the committed
        # offset has passed a random row (sorted), each after a further random 0-1 s so it lands inside a batch.
        targets = sorted(rng.randrange(args.rows) for _ in range(max(0, kills - 1)))
        targets = ([-1] if kills else []) + targets
        try:
            while True:
                status, offset = ImportTask.objects.filter(pk=task.pk).values_list("status", "committed_offset").get()
                if status not in ("VALIDATING", "RUNNING"):
                    break
                due = len(killed_at) < len(targets) and (
                    # the first one while the file is checked, or at once in the first batch when that was quick
                    (targets[len(killed_at)] < 0 and (status == "RUNNING" or time.perf_counter() - start > 2))
                    or (targets[len(killed_at)] >= 0 and status == "RUNNING" and offset >= targets[len(killed_at)])
                )
                if due:
                    time.sleep(rng.uniform(0.0, 1.0))
                    if ImportTask.objects.get(pk=task.pk).is_finished:
                        continue
                    worker.kill()  # SIGKILL: no cleanup, the batch in flight is rolled back by PostgreSQL
                    worker.wait()
                    killed_at.append(round(time.perf_counter() - start, 2))
                    offset = ImportTask.objects.get(pk=task.pk).committed_offset
                    print(f"    killed at {killed_at[-1]:.1f} s (row {offset:,} committed)", flush=True)
                    subprocess.run([sys.executable, "manage.py", "recover_tasks", "--grace", "0"], cwd=ROOT, env=env, check=True,
                                   stdout=subprocess.DEVNULL)
                    worker = _worker(env)
                    continue
                time.sleep(0.05)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
        task.refresh_from_db()
        return task, killed_at, time.perf_counter() - start

    def summary(task: ImportTask) -> dict:
        entries = task.change_set.entries.count() if task.change_set_id else 0
        return {"status": task.status, "inserted": task.inserted_rows, "updated": task.updated_rows,
                "unchanged": task.unchanged_rows, "errors": task.error_count, "entries": entries}

    failures = 0
    scenarios = args.scenarios.split(",")
    if "metadata" in scenarios:
        folder = Folder.objects.create(workspace=ws, name="existing")
        batch = []
        with corpus.open() as f:
            for line in f:
                row = json.loads(line)
                batch.append(Item(workspace=ws, folder=folder, uid=uuid.UUID(row["media_id"]), title=row["title"]))
                if len(batch) == 20_000:
                    Item.objects.bulk_create(batch)
                    batch = []
        Item.objects.bulk_create(batch)
        results = {}
        for label, kills in (("uninterrupted", 0), (f"killed {args.kills} times", args.kills)):
            Item.objects.filter(folder=folder).update(client_metadata={})
            ChangeSet.objects.filter(workspace=ws).delete()
            print(f"metadata rows, {args.rows:,} rows, {label}:", flush=True)
            task, killed_at, seconds = run("metadata_rows", corpus, folder, kills=kills)
            results[label] = (digest(folder), summary(task))
            print(f"    {seconds:.1f} s, {results[label][1]}, items/digest {results[label][0]}", flush=True)
        (ref, ref_summary), (got, got_summary) = results.values()
        same = ref == got and ref_summary == got_summary and ref_summary["updated"] == args.rows
        print(f"  metadata rows: {'SAME final state' if same else 'DIFFERENT final state'}", flush=True)
        failures += not same

    if "data" in scenarios:
        spec = workdir / "spec.json"
        with corpus.open() as src, spec.open("w") as out:
            out.write('{"images": [\n')
            for n, line in enumerate(src):
                row = json.loads(line)
                image = {"objectUrl": row["metadata"]["source"], "title": row["title"],
                         "clientMetadata": row["metadata"]}
                out.write(("," if n else "") + json.dumps(image, separators=(",", ":")) + "\n")
            out.write("]}\n")
        results = {}
        for label, kills in (("uninterrupted", 0), (f"killed {args.kills} times", args.kills)):
            folder = Folder.objects.create(workspace=ws, name=f"data {label}")
            print(f"data import, {args.rows:,} items, {label}:", flush=True)
            task, killed_at, seconds = run("data", spec, folder, kills=kills)
            results[label] = (digest(folder, uids=False), summary(task))
            print(f"    {seconds:.1f} s, {results[label][1]}, items/digest {results[label][0]}", flush=True)
        (ref, ref_summary), (got, got_summary) = results.values()
        same = ref == got and ref_summary == got_summary and ref[0] == args.rows
        print(f"  data import: {'SAME final state' if same else 'DIFFERENT final state'}", flush=True)
        failures += not same
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
