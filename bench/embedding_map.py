#!/usr/bin/env python3
"""The embedding map: build time of N vectors (PCA, and UMAP with --umap), the points endpoint's time and size
(the whole map, sampled to at most 200,000 points, and a zoomed-in box), and the map page's "first drawn" time in
real Chromium (navigation start to the first points on the canvas, `window.mapTimings.firstDrawn`).

The vectors are clustered (--clusters centres plus Gaussian noise), as real embeddings are. The database is made
from scratch in --db (dropped first); --reuse keeps an earlier run's database and map:

    .venv/bin/python bench/embedding_map.py --db postgres://postgres@127.0.0.1:5432/ms_map_bench --n 100000
    .venv/bin/python bench/embedding_map.py --db postgres://postgres@127.0.0.1:5432/ms_map_bench --reuse --umap

The Chromium part starts `manage.py runserver` on --port against the same database (DEBUG on, so it serves the
static files) and logs in through the real login form.
"""

import argparse
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-map-password"


def _prepare_db(url: str, *, reuse: bool) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "false")  # DEBUG keeps every statement (and its megabytes of vectors)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the test client and runserver speak plain HTTP
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")
    if reuse:
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _load(args):
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from metadata_site.items.services import NewItem, items_create_bulk
    from metadata_site.media.models import Embedding
    from metadata_site.projects.models import Folder
    from metadata_site.schemas.models import MetadataSchema
    from metadata_site.workspaces.models import Membership, Role, Workspace

    call_command("migrate", verbosity=0)
    ws = Workspace.objects.create(name="bench", slug="bench")
    user = get_user_model().objects.create_user("bench", password=PASSWORD)
    Membership.objects.create(user=user, workspace=ws, role=Role.ADMIN)
    MetadataSchema.objects.create(workspace=ws, version=1, fields=[
        {"name": "clip", "type": "embedding", "dimension": args.dim, "distance": "cosine", "options": [],
         "is_multi": False, "description": "", "unit": ""},
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain", "Snow"], "is_multi": False,
         "description": "", "unit": ""},
    ])
    folder = Folder.objects.create(workspace=ws, name="bench")
    rng = np.random.default_rng(22)
    centres = rng.normal(size=(args.clusters, args.dim)).astype(np.float32)
    started = time.perf_counter()
    for start in range(0, args.n, 10_000):
        count = min(10_000, args.n - start)
        labels = rng.integers(0, args.clusters, size=count)
        block = centres[labels] + rng.normal(scale=0.6, size=(count, args.dim)).astype(np.float32)
        with transaction.atomic():
            new = [NewItem(f"i{start + i:07d}", "image", "", {"weather": ("Sunny", "Rain", "Snow")[labels[i] % 3]})
                   for i in range(count)]
            ids = items_create_bulk(workspace=ws, folder_id=folder.pk, items=new)
            Embedding.objects.bulk_create(
                [Embedding(workspace=ws, item_id=pk, field="clip", vector=block[i].astype("<f4").tobytes())
                 for i, pk in enumerate(ids)], batch_size=2000)
    print(f"{args.n:,} items and {args.dim}-d vectors written in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return ws


def _build(ws, method: str) -> None:
    from metadata_site.media import embedding_map as em
    from metadata_site.media.models import EmbeddingMap

    row, _ = EmbeddingMap.objects.get_or_create(workspace=ws, field="clip", method=method)
    started, cpu = time.perf_counter(), time.process_time()
    row = em.map_build(map_id=row.pk)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # UMAP's process (PCA has none)
    print(f"{method} map build: {wall:.1f} s wall, {cpu:.1f} s CPU for {row.size:,} points; peak RSS {rss:.0f} MB"
          + (f", its UMAP child process {child:.0f} MB" if method == "umap" else ""))


def _endpoint(ws, method: str) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from metadata_site.media.models import EmbeddingMap

    row = EmbeddingMap.objects.get(workspace=ws, field="clip", method=method)
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    cx, cy = (row.x_min + row.x_max) / 2, (row.y_min + row.y_max) / 2
    w, h = (row.x_max - row.x_min) / 8, (row.y_max - row.y_min) / 8
    cases = {
        "whole map": {},
        "whole map, coloured by weather": {"color": "weather"},
        "whole map, filter weather:eq:Rain": {"f": "weather:eq:Rain"},
        "zoomed box (1/16 of the area)": {"box": f"{cx - w},{cy - h},{cx + w},{cy + h}"},
    }
    for label, extra in cases.items():
        times, resp = [], None
        for _ in range(5):
            t = time.perf_counter()
            resp = client.get("/w/bench/map/points", {"field": "clip", "method": method, **extra})
            times.append((time.perf_counter() - t) * 1000)
            assert resp.status_code == 200, resp.content[:200]
        print(f"points endpoint, {label}: median {statistics.median(times):.0f} ms (min {min(times):.0f}), "
              f"{int(resp['X-Map-Count']):,} points, {len(resp.content) / 2**20:.1f} MiB, sampled={resp['X-Map-Sampled']} "
              f"(estimate {int(resp['X-Map-Estimate']):,})")


def _first_drawn(args, method: str) -> None:
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "DEBUG": "true", "DATABASE_CONN_MAX_AGE": "0"}
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{args.port}"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{args.port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--headless"])
            page = browser.new_page()
            for _ in range(100):
                try:
                    page.goto(f"{base}/accounts/login/")
                    break
                except Exception:
                    time.sleep(0.3)
            page.fill("#id_username", "bench")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
            for colour in ("", "weather"):
                results = []
                for _ in range(args.draws):
                    page.goto(f"{base}/w/bench/map/?field=clip&method={method}&color={colour}")
                    page.wait_for_function("() => window.mapTimings && window.mapTimings.lastDrawn !== undefined",
                                           timeout=60_000)
                    results.append((page.evaluate("window.mapTimings.firstDrawn"),
                                    page.evaluate("window.mapTimings.lastDrawn"),
                                    int(page.locator("#map-canvas").get_attribute("data-drawn"))))
                if args.screenshot and colour:
                    page.screenshot(path=args.screenshot)
                first, last = [r[0] for r in results], [r[1] for r in results]
                print(f"first drawn in Chromium (colour={colour or 'none'}): median {statistics.median(first):.0f} ms "
                      f"(min {min(first):.0f}, max {max(first):.0f}) over {len(first)} loads, {results[-1][2]:,} points"
                      f" drawn; coloured: median {statistics.median(last):.0f} ms")
            browser.close()
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="keep the database (and the PCA map) of an earlier run")
    parser.add_argument("--rebuild", action="store_true", help="with --reuse: build the PCA map again")
    parser.add_argument("--umap", action="store_true", help="also build (and measure) the UMAP map")
    parser.add_argument("--only-umap", action="store_true", help="measure the UMAP map only")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    parser.add_argument("--screenshot", default="", help="save the coloured map's page here")
    args = parser.parse_args()
    _prepare_db(args.db, reuse=args.reuse)
    import django

    django.setup()
    from metadata_site.workspaces.models import Workspace

    ws = Workspace.objects.get(slug="bench") if args.reuse else _load(args)
    methods = ["umap"] if args.only_umap else ["pca"] + (["umap"] if args.umap else [])
    for method in methods:
        if not args.reuse or args.rebuild or method == "umap":
            _build(ws, method)
        _endpoint(ws, method)
        _first_drawn(args, method)


if __name__ == "__main__":
    main()
