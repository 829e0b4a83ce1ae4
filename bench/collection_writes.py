#!/usr/bin/env python3
"""Time collection and dataset writes at scale on the shared corpus.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ms_bench .venv/bin/python bench/collection_writes.py --n 1000000

Loads N corpus items into a fresh workspace (skipped when it already holds N items), then times:
adding all N to a frozen collection in one INSERT ... SELECT (the inline path), the same through the
chunked background path (progress updates every CHUNK_SIZE rows), and a dataset built from two
overlapping collections. Prints one line per measurement.
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
os.environ.setdefault("TASKS_BACKEND", "django.tasks.backends.immediate.ImmediateBackend")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--gen", default="../shared/bench/gen_metadata.py", help="the shared corpus generator")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from metadata_site.collections import services
    from metadata_site.collections.models import Collection, CollectionTask
    from metadata_site.items.models import Item
    from metadata_site.projects.models import Dataset, Folder, Project
    from metadata_site.workspaces.models import Workspace

    call_command("migrate", verbosity=0)
    ws, _ = Workspace.objects.get_or_create(slug=f"bench-collections-{args.n}", defaults={"name": "bench"})
    folder, _ = Folder.objects.get_or_create(workspace=ws, parent=None, name="corpus")
    if Item.objects.filter(workspace=ws).count() != args.n:
        Item.objects.filter(workspace=ws).delete()
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, args.gen, str(args.n)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        batch = []
        for line in proc.stdout:
            row = json.loads(line)
            batch.append(
                Item(
                    workspace=ws,
                    folder=folder,
                    uid=row["media_id"],
                    title=row["title"],
                    client_metadata=row["metadata"],
                )
            )
            if len(batch) == 10_000:
                Item.objects.bulk_create(batch)
                batch = []
        Item.objects.bulk_create(batch)
        if proc.wait() != 0:
            sys.exit(f"the corpus generator {args.gen} failed")
        print(f"load {args.n} items: {time.perf_counter() - started:.1f} s")

    Collection.objects.filter(workspace=ws).delete()
    Dataset.objects.filter(workspace=ws).delete()
    Project.objects.filter(workspace=ws).delete()
    everything = {"scope": f"folder:{folder.pk}"}

    services.INLINE_LIMIT = args.n + 1
    c1 = services.collection_create(workspace=ws, user=None, title="inline", kind="frozen")
    started = time.perf_counter()
    added = services.collection_add_items(collection=c1, filter_state=everything).added
    print(f"add all {added} items inline (one INSERT ... SELECT): {time.perf_counter() - started:.2f} s")

    services.INLINE_LIMIT = 0
    c2 = services.collection_create(workspace=ws, user=None, title="background", kind="frozen")
    started = time.perf_counter()
    task = services.collection_add_items(collection=c2, filter_state=everything).task
    task.refresh_from_db()
    print(
        f"add all {task.added} items in chunks (background path): "
        f"{time.perf_counter() - started:.2f} s, status {task.status}"
    )

    started = time.perf_counter()
    ds = services.dataset_create_from_collections(
        workspace=ws,
        user=None,
        title="from-both",
        collection_ids=[c1.pk, c2.pk],
        new_project_name="bench",
        split_image_groups=True,
    )
    task = CollectionTask.objects.get(dataset=ds)
    print(
        f"dataset from 2 overlapping collections of {args.n} ({task.added} items, background): "
        f"{time.perf_counter() - started:.2f} s"
    )
    started = time.perf_counter()
    services.collection_delete(collection=c1)
    print(f"delete a collection of {args.n} items: {time.perf_counter() - started:.2f} s")
    print(f"({timezone.now():%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
