#!/usr/bin/env python3
"""Time the Tasks page (/w/<slug>/tasks/) of a workspace with many background tasks of every kind.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ms_bench .venv/bin/python bench/tasks_page.py --n 10000

Makes (once) a workspace with N import tasks and N/10 tasks of each other kind, with spread creation times, then
fetches pages 1, 10 and 100 through the Django test client as a member (the whole view: access check, the per-kind
counts and rows, the merge, the template). Prints the median of --runs runs per page and the number of queries.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from metadata_site.collections.models import CollectionTask
    from metadata_site.explorer.models import IndexBuild
    from metadata_site.imports.models import ImportTask
    from metadata_site.items.models import ChangeSet
    from metadata_site.media.models import MediaBatch
    from metadata_site.schemas.models import FieldRename
    from metadata_site.workspaces.models import Membership, Role, Workspace

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    slug = f"bench-tasks-{args.n}"
    ws, made = Workspace.objects.get_or_create(slug=slug, defaults={"name": "bench tasks"})
    user, _ = get_user_model().objects.get_or_create(username="bench-tasks")
    Membership.objects.get_or_create(workspace=ws, user=user, defaults={"role": Role.VIEWER})
    if made:
        now = timezone.now()
        change_set = ChangeSet.objects.create(workspace=ws, operation="rename")
        others = args.n // 10
        ImportTask.objects.bulk_create(
            ImportTask(workspace=ws, kind="metadata_rows", file_name=f"f{i}.csv", status="COMPLETED", progress=100)
            for i in range(args.n))
        CollectionTask.objects.bulk_create(
            CollectionTask(workspace=ws, kind="add_items", total=10, done=10, status="COMPLETED") for _ in range(others))
        FieldRename.objects.bulk_create(
            FieldRename(workspace=ws, old_name="a", new_name="b", change_set=change_set, status="COMPLETED")
            for _ in range(others))
        IndexBuild.objects.bulk_create(IndexBuild(workspace=ws, status="COMPLETED") for _ in range(others))
        MediaBatch.objects.bulk_create(MediaBatch(workspace=ws, total=500, done=500, status="COMPLETED")
                                       for _ in range(others))
        for model in (ImportTask, CollectionTask, FieldRename, IndexBuild, MediaBatch):
            for k, pk in enumerate(model.objects.filter(workspace=ws).values_list("pk", flat=True)):
                model.objects.filter(pk=pk).update(created_at=now - timedelta(seconds=k * 7 + hash(model) % 5))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    client = Client()
    client.force_login(user)
    total = sum(m.objects.filter(workspace=ws).count()
                for m in (ImportTask, CollectionTask, FieldRename, IndexBuild, MediaBatch))
    print(f"{connection.vendor}, {total} tasks in the workspace")
    for page in (1, 10, 100):
        url = f"/w/{slug}/tasks/?page={page}"
        client.get(url)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        print(f"page {page:>3}: {statistics.median(times) * 1000:7.1f} ms median of {args.runs}, "
              f"{len(queries)} queries")


if __name__ == "__main__":
    main()
