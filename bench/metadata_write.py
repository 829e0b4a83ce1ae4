"""Benchmark of item metadata writes: validated, set-based, recorded in one change set, then undone.

    DATABASE_URL=postgres://... python bench/metadata_write.py 100000
    python bench/metadata_write.py 100000 --gen ../shared/bench/gen_metadata.py    # SQLite (var/ by default)

It creates a throwaway workspace ("bench-write") in the configured database, inserts N items without metadata,
imports the corpus schema, then times (a) writing the corpus metadata in batches of --batch items (as an
import does, one change set for all batches), (b) a bulk "set weather = Rain" over all items, (c) undoing (b).
The workspace is deleted at the end.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--gen", default="../shared/bench/gen_metadata.py", help="the shared corpus generator")
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from metadata_site.items.models import Item
    from metadata_site.items.services import change_set_undo, item_metadata_bulk_apply, item_metadata_write_by_uid
    from metadata_site.projects.models import Folder
    from metadata_site.schemas.services import schema_import
    from metadata_site.workspaces.models import Workspace

    gen = str((ROOT / args.gen).resolve()) if not os.path.isabs(args.gen) else args.gen
    lines = subprocess.run(
        [sys.executable, gen, str(args.n)], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    corpus = [json.loads(line) for line in lines]
    schema = json.loads(
        subprocess.run([sys.executable, gen, str(args.n), "--format", "schema"], check=True, capture_output=True,
                       text=True).stdout
    )

    Workspace.objects.filter(slug="bench-write").delete()
    ws = Workspace.objects.create(slug="bench-write", name="bench-write")
    user, _ = get_user_model().objects.get_or_create(username="bench-write")
    folder = Folder.objects.create(workspace=ws, name="bench")
    Item.objects.bulk_create(
        [Item(workspace=ws, folder=folder, uid=row["media_id"], title=row["title"]) for row in corpus],
        batch_size=5000,
    )
    schema_import(workspace=ws, user=user, fields=schema, dry_run=False)
    print(f"{connection.vendor}, {args.n} items, batches of {args.batch}")

    start, cpu = time.perf_counter(), time.process_time()
    change_set = None
    failed = 0
    for offset in range(0, len(corpus), args.batch):
        batch = corpus[offset : offset + args.batch]
        result = item_metadata_write_by_uid(
            workspace=ws, user=user, updates={row["media_id"]: row["metadata"] for row in batch}, mode="merge",
            source="bench", change_set=change_set,
        )
        change_set = result.change_set
        failed += result.failed
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"write corpus metadata: {elapsed:.2f} s ({cpu:.2f} s CPU in this process), "
          f"{args.n / elapsed:,.0f} items/s, {failed} failed")

    start, cpu = time.perf_counter(), time.process_time()
    result = item_metadata_bulk_apply(workspace=ws, user=user, items=Item.objects.filter(workspace=ws),
                                      key="weather", value="Rain")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"bulk set weather=Rain: {elapsed:.2f} s ({cpu:.2f} s CPU), {result.changed:,} changed, {result.unchanged:,} unchanged")

    start, cpu = time.perf_counter(), time.process_time()
    undo = change_set_undo(change_set=result.change_set, user=user)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"undo of the bulk set: {elapsed:.2f} s ({cpu:.2f} s CPU), {undo.restored:,} restored, {len(undo.conflicts)} conflicts")
    ws.delete()


if __name__ == "__main__":
    main()
