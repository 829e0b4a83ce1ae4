#!/usr/bin/env python3
"""Explorer benchmark: Q1-Q7 of the shared corpus through the explorer's query package, and the explorer page.

    # PostgreSQL, 1M items (see bench/README.md, "Explorer", for loading the corpus)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ms_explorer_bench .venv/bin/python bench/explorer.py --workspace bench
    # SQLite, 100k items
    DATABASE_URL=sqlite:///bench/data/explorer100k.sqlite3 .venv/bin/python bench/explorer.py --workspace bench

For each query: the first page of 50 plus the exact total count (what the explorer and the API
return), median server time over --runs runs; Q7 pages 201 deep with the keyset cursor (and, for
comparison, with OFFSET). Then the full explorer HTML for Q6 (grid, counts, facets, histograms)
through the Django test client, cold (the cache emptied before each page) and again (its counts and facets kept
under the projection's version); with --url, also through a running server as a browser loads it (the grid, then
both partials at once), after a one-item write each time. --explain prints EXPLAIN (ANALYZE) of every query shape.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", default="bench")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--generator", default="../shared/bench/gen_metadata.py",
                        help="the shared corpus generator (default: ../shared/bench/gen_metadata.py)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of each query")
    parser.add_argument("--page-runs", type=int, default=5, help="runs of the full explorer page")
    parser.add_argument("--url", help="also the Q6 page through this running server (user demo / demo)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import caches
    from django.db import connection
    from django.http import QueryDict
    from django.test import Client

    from metadata_site.explorer import facets, selectors
    from metadata_site.explorer import query as fl
    from metadata_site.schemas.selectors import schema_current
    from metadata_site.workspaces.models import Membership, Workspace

    cache = caches["explorer"]  # where explorer.cache keeps counts and facets

    settings.ALLOWED_HOSTS = ["*"]
    queries = json.loads(subprocess.check_output([sys.executable, args.generator, "1", "--format", "queries"]))
    ws = Workspace.objects.get(slug=args.workspace)
    schema = schema_current(workspace=ws)
    vendor = connection.vendor
    total = selectors.item_base_queryset().filter(workspace=ws).count()
    print(f"{vendor}, workspace {ws.slug!r}: {total:,} items; median of {args.runs} runs (ms)\n")
    print("| query | matches | count | first page | count + page |")
    print("|---|---|---|---|---|")

    def timed(fn):
        times = []
        result = None
        for _ in range(args.runs):
            cache.clear()  # cold: counts and facets are kept under the projection's version (explorer.cache)
            started = time.perf_counter()
            result = fn()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times), result

    for name, spec in queries.items():
        query = fl.parse_query_string(QueryDict(spec["query_string"] + (f"&sort={spec['sort']}" if "sort" in spec else "")), schema=schema)
        qs = selectors.explorer_items(query, schema=schema, workspace=ws)
        after = None
        if name.startswith("Q7"):
            # the cursor a user holds after paging 200 times: the 10,000th item in this order
            page = fl.page_items(qs, query, schema=schema, limit=spec["offset"], after=None)
            after = page.next_cursor

        def count():  # what the explorer's count partial and the API run
            return selectors.count(query, schema=schema, workspace=ws)

        def first_page():
            return fl.page_items(qs, query, schema=schema, limit=50, after=after)

        t_count, n = timed(count)
        t_page, page = timed(first_page)
        t_both, _ = timed(lambda: (count(), first_page()))
        print(f"| {name} | {n:,} | {t_count:.1f} | {t_page:.1f} | **{t_both:.1f}** |")
        if name.startswith("Q7"):
            expr = fl.sort_expression(query.sort, schema=schema)
            offset_qs = qs.order_by(expr.desc(nulls_last=True), "-id")[spec["offset"] : spec["offset"] + 50]
            t_offset, rows = timed(lambda: list(offset_qs.values_list("id", flat=True)))
            assert [i.pk for i in page.items] == rows, "keyset page differs from the OFFSET page"
            print(f"| Q7 with OFFSET 10000 instead of the keyset cursor | | | {t_offset:.1f} | |")
        if args.explain:
            _explain(connection, f"{name} count", count)
            _explain(connection, f"{name} page", first_page)
            if name.startswith("Q6"):
                _explain(connection, f"{name} facets", lambda: facets.facets(query, schema=schema, workspace=ws))

    client = Client()
    owner = Membership.objects.filter(workspace=ws).select_related("user").first().user
    client.force_login(owner)
    q6 = queries["Q6_compound"]["query_string"]
    print("\n| explorer HTML (test client) | median ms, cold | again, kept (same projection version) "
          "| after a one-item write (kept, patched) |\n|---|---|---|---|")
    from metadata_site.items.models import Item

    edited = Item.objects.filter(workspace=ws).order_by("id").first()
    # The Q6 page, then the unfiltered explorer (the workspace's total, every facet and every histogram). Cold: the
    # cache emptied before each page, whose three requests then go in this order, the count partial finding the
    # count the facet pass made (kept under the same version). A browser asks for both partials at once: --url.
    labels = ("explorer page (grid, {})", "  + counts/facets/histograms partial ({})", "  + total count partial ({})")
    for name, query in (("Q6", f"?{q6}"), ("no filter", "")):
        urls = [f"/w/{ws.slug}/explore/{query}", f"/w/{ws.slug}/explore/facets/{query}",
                f"/w/{ws.slug}/explore/count/{query}" + ("&" if query else "?") + "exact=1"]
        pages = []
        for _ in range(args.page_runs):
            cache.clear()
            pages.append([_page_median(client, url, runs=1, cold=False) for url in urls])
        patched = []
        for _ in range(args.page_runs):  # an edit of one item's temperature (inside its range), then the page
            Item.objects.filter(pk=edited.pk).update(
                client_metadata={**edited.client_metadata, "temperature": round(random.uniform(-10, 10), 2)})
            patched.append([_page_median(client, url, runs=1, cold=False) for url in urls])
        for n, (label, url) in enumerate(zip(labels, urls, strict=True)):
            warm = _page_median(client, url, runs=args.page_runs, cold=False)
            print(f"| {label.format(name)} | {statistics.median(p[n] for p in pages):.1f} | {warm:.1f} "
                  f"| {statistics.median(p[n] for p in patched):.1f} |")
        print(f"| **all of the {name} page (median of the sums)** | **{statistics.median(sum(p) for p in pages):.1f}** | "
              f"| **{statistics.median(sum(p) for p in patched):.1f}** |")
    Item.objects.filter(pk=edited.pk).update(client_metadata=edited.client_metadata)
    if args.url:
        _http_page(args.url, ws, f"?{q6}", runs=args.page_runs)


def _http_page(base: str, ws, query: str, *, runs: int) -> None:
    """The Q6 page through a running server as a browser loads it: the grid, then its facets and count partials
    at once (two threads); each run after a one-item write, so the server's kept figures are of an older version
    and are patched (as after any other user's edit). Median wall time from the first request to the last answer;
    the first run's (nothing kept yet in that server process) on its own."""
    import threading

    from http_login import login

    from metadata_site.items.models import Item

    opener = login(base)
    prefix = f"{base}/w/{ws.slug}/explore/"

    def get(url):
        with opener.open(url) as response:
            response.read()
            assert response.status == 200, response.status

    item = Item.objects.filter(workspace=ws).order_by("id").first()
    walls = []
    for _ in range(runs + 1):
        Item.objects.filter(pk=item.pk).update(client_metadata={**item.client_metadata, "temperature": random.uniform(-20, 0)})
        started = time.perf_counter()
        get(prefix + query)
        threads = [threading.Thread(target=get, args=(prefix + part + query,)) for part in ("facets/", "count/")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        walls.append((time.perf_counter() - started) * 1000)
    Item.objects.filter(pk=item.pk).update(client_metadata=item.client_metadata)
    print(f"\nHTTP ({base}), the Q6 page with both partials at once, after a write each time: first {walls[0]:.0f} ms, "
          f"then median {statistics.median(walls[1:]):.1f} ms of {runs} ({', '.join(f'{w:.0f}' for w in walls[1:])})")


def _page_median(client, url: str, *, runs: int, cold: bool = True) -> float:
    """Median ms of `runs` GETs of `url` through the Django test client; `cold`: with the cache emptied first
    (counts and facets are otherwise kept under the projection's version: a repeat is nearly free)."""
    from django.core.cache import caches
    from django.db import reset_queries

    cache = caches["explorer"]  # where explorer.cache keeps counts and facets
    times = []
    for _ in range(runs):
        if cold:
            cache.clear()
        reset_queries()
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def _explain(connection, label, run):
    """EXPLAIN (ANALYZE on PostgreSQL) every statement `run()` executes."""
    from django.core.cache import caches
    from django.db import reset_queries, transaction
    from django.test.utils import CaptureQueriesContext

    cache = caches["explorer"]  # where explorer.cache keeps counts and facets
    print(f"\n<details><summary>EXPLAIN {label}</summary>\n\n```")
    cache.clear()  # the statements themselves, not the cache's answer
    with CaptureQueriesContext(connection) as ctx:
        run()
    with transaction.atomic(), connection.cursor() as cursor:
        for q in ctx.captured_queries:
            sql = q["sql"]
            if sql.split(" ", 1)[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
                continue
            if sql.upper().startswith("SET "):  # a planner setting of the statements that follow (SET LOCAL)
                cursor.execute(sql)
                print(sql)
                continue
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
            for row in cursor.fetchall():
                print(" ".join(str(c) for c in row))
    print("```\n</details>")
    reset_queries()


if __name__ == "__main__":
    main()
