#!/usr/bin/env python3
"""The unfiltered explorer of a workspace (its total, every facet, every histogram) and the write cost of the
counts that serve it (explorer/counts.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ms_counts_bench .venv/bin/python bench/unfiltered.py --workspace bench
    # through HTTP too: a server already running against the same database, user demo / demo
    ... bench/unfiltered.py --workspace bench --url http://127.0.0.1:8000
    # and the write overhead: a 100,000-item metadata merge (then its undo) and a single-item edit
    ... bench/unfiltered.py --workspace bench --writes 100000

In process: `selectors.count` + `facets.facets` of the unfiltered query, median of --runs runs. HTTP: the
median of --runs requests of the facets partial, the count partial and the explorer page (the grid only: its
count and facets are the two partials). Writes: `item_metadata_write` in merge mode of --writes items (two
fields changed each: an enum and a float), its `change_set_undo`, and --runs single-item edits, each timed.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _http(base: str, slug: str, runs: int) -> None:
    from http_login import login

    opener = login(base)
    for label, path in (("facets partial", f"/w/{slug}/explore/facets/"), ("count partial", f"/w/{slug}/explore/count/"),
                        ("explorer page", f"/w/{slug}/explore/")):
        def get(path=path):
            with opener.open(base + path) as response:
                response.read()
                assert response.status == 200, response.status

        get()
        print(f"HTTP {label}: {_median_ms(get, runs):.1f} ms (median of {runs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", default="bench")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--url", help="a running server's base URL (HTTP figures)")
    parser.add_argument("--writes", type=int, default=0, help="items of the metadata merge (0: no write figures)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from metadata_site.explorer import facets, selectors
    from metadata_site.explorer import query as fl
    from metadata_site.items.models import ChangeSet, Item
    from metadata_site.items.services import change_set_undo, item_metadata_write
    from metadata_site.schemas.selectors import schema_current
    from metadata_site.workspaces.models import Workspace

    ws = Workspace.objects.get(slug=args.workspace)
    schema = schema_current(workspace=ws)
    query = fl.Query()
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    total = selectors.count(query, schema=schema, workspace=ws)
    print(f"workspace {ws.slug!r}: {total:,} items")
    print(f"in process, total: {_median_ms(lambda: selectors.count(query, schema=schema, workspace=ws), args.runs):.1f} ms")
    print(f"in process, facets: {_median_ms(lambda: facets.facets(query, schema=schema, workspace=ws), args.runs):.1f} ms")
    if args.url:
        _http(args.url.rstrip("/"), ws.slug, args.runs)
    if args.writes:
        user = get_user_model().objects.filter(username="demo").first() or get_user_model().objects.first()
        rng = random.Random(1)
        ids = list(Item.objects.filter(workspace=ws).order_by("id").values_list("id", flat=True)[: args.writes])
        weathers = ["Sunny", "Cloudy", "Rain", "Snow", "Fog"]
        updates = {pk: {"weather": rng.choice(weathers), "temperature": round(rng.uniform(-10, 40), 1)} for pk in ids}
        start = time.perf_counter()
        result = item_metadata_write(workspace=ws, user=user, updates=updates, mode="merge")
        merged = time.perf_counter() - start
        print(f"merge of {len(ids):,} items: {merged:.2f} s ({len(ids) / merged:,.0f} items/s)")
        start = time.perf_counter()
        change_set_undo(change_set=ChangeSet.objects.get(pk=result.change_set.pk), user=user)
        print(f"its undo: {time.perf_counter() - start:.2f} s")
        one = ids[len(ids) // 2]
        sets = []

        def edit():
            sets.append(item_metadata_write(workspace=ws, user=user, updates={one: {"temperature": rng.uniform(-10, 40)}},
                                            mode="merge").change_set.pk)

        print(f"single-item edit: {_median_ms(edit, args.runs):.1f} ms (median of {args.runs})")
        for pk in reversed(sets):
            change_set_undo(change_set=ChangeSet.objects.get(pk=pk), user=user)


if __name__ == "__main__":
    main()
