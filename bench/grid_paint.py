#!/usr/bin/env python3
"""Grid paint benchmark: the explorer's grid of 50 real thumbnails, fully painted in Chromium, on a warm cache.

    .venv/bin/python bench/grid_paint.py                      # PostgreSQL ms_grid_paint_bench (dropped and created)
    .venv/bin/python bench/grid_paint.py --db sqlite:///var/bench_grid.sqlite3 --runs 9

A workspace of --items distinct 1920×1080 JPEGs (generated with Pillow, as in bench/media.py) whose thumbnails are
made by real `manage.py db_worker --queue-name media` processes; gunicorn (`metadata_site/gunicorn.py`: 2 threaded processes, persistent database
connections as in the settings) on a free loopback port; Debian's Chromium driven by Playwright, logged in with a
session cookie, with a viewport big enough to show the 50 tiles of the explorer's first page.

Each run navigates to the explorer and measures, in the page, from navigation start (`performance.timeOrigin`)
to the animation frame after every grid image is loaded and decoded (`img.decode()` resolved, `img.complete &&
img.naturalWidth > 0` checked): the frame that paints them. The first visit is the cold one (every thumbnail
fetched); the median of the --runs visits after it is the warm figure (the thumbnail URLs carry their version and
are cached as immutable, so a warm visit fetches only the page).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")

from imports import _reset_database  # noqa: E402  (bench/imports.py)
from media import photo, run_workers  # noqa: E402  (bench/media.py)

CHROMIUM = "/usr/bin/chromium"

# Set up before any page script: resolves once every image of the grid is loaded, decoded and painted.
PAINTED = """
window.__gridPainted = new Promise((resolve) => {
  document.addEventListener("DOMContentLoaded", () => {
    const imgs = [...document.querySelectorAll("#grid img")];
    Promise.all(imgs.map((img) => img.decode().then(() => true, () => false))).then((decoded) => {
      requestAnimationFrame(() => resolve({
        ms: performance.now(),
        images: imgs.length,
        ok: decoded.every(Boolean) && imgs.every((img) => img.complete && img.naturalWidth > 0),
        in_viewport: imgs.filter((img) => img.getBoundingClientRect().bottom <= innerHeight).length,
        dom_content_loaded: performance.getEntriesByType("navigation")[0].domContentLoadedEventStart,
        fetched: performance.getEntriesByType("resource")
          .filter((r) => r.name.includes("/thumb.png") && r.transferSize > 0).length,
      }));
    });
  });
});
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/ms_grid_paint_bench",
                        help="postgres://.../name or sqlite:///path (recreated)")
    parser.add_argument("--items", type=int, default=60, help="items with real thumbnails (the grid shows 50)")
    parser.add_argument("--runs", type=int, default=7, help="warm visits timed after the cold one")
    parser.add_argument("--viewport", default="1920x2600", help="WIDTHxHEIGHT, big enough for the 50 tiles")
    parser.add_argument("--workdir", help="where generated media and MEDIA_ROOT go (default: a temporary directory)")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args()
    width, height = (int(n) for n in args.viewport.split("x"))

    _reset_database(args.db)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ms-grid-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "DATABASE_URL": args.db, "DATABASE_CONN_MAX_AGE": "0", "MEDIA_ROOT": str(workdir / "media"),
        "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
    })
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client as DjangoClient

    from metadata_site.items.models import Item
    from metadata_site.media.services import item_attach_media, media_store
    from metadata_site.projects.models import Folder
    from metadata_site.workspaces.models import Membership, Role, Workspace

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password")
    ws = Workspace.objects.create(slug="bench", name="Bench")
    Membership.objects.create(user=user, workspace=ws, role=Role.ADMIN)
    folder = Folder.objects.create(workspace=ws, name="photos")
    ids = [item_attach_media(workspace=ws, folder=folder, title=f"photo{n:03d}",
                             blob=media_store(data=photo(n), filename=f"{n}.jpg"), queue=False).pk
           for n in range(args.items)]
    env = {**os.environ}
    made = run_workers(env, 2, ids, 25)
    thumbs = Item.objects.filter(pk__in=ids).exclude(thumbnail_name="").count()
    if thumbs != len(ids):
        raise SystemExit(f"the worker made {thumbs} thumbnails of {len(ids)}")
    session = DjangoClient()
    session.force_login(user)
    cookie = session.cookies["sessionid"].value
    results: dict = {"vendor": connection.vendor, "items": len(ids), "viewport": args.viewport,
                     "load_average_at_start": os.getloadavg()[0], "worker": made}
    print(f"{connection.vendor}, {len(ids)} items with worker thumbnails, load average {os.getloadavg()[0]:.1f}",
          flush=True)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:metadata_site.gunicorn", "metadata_site.wsgi",
         "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env={**env, "DATABASE_CONN_MAX_AGE": "60"})
    try:
        import httpx
        from playwright.sync_api import sync_playwright

        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/w/bench/explore/"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run"])
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies([{"name": "sessionid", "value": cookie, "domain": "127.0.0.1", "path": "/"}])
            context.add_init_script(PAINTED)
            page = context.new_page()
            visits = []
            for _ in range(args.runs + 1):
                response = page.goto(url, wait_until="commit")
                assert response.status == 200, response
                visits.append(page.evaluate("window.__gridPainted"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    cold, warm = visits[0], visits[1:]
    for visit in visits:
        if not visit["ok"] or visit["images"] != 50:
            raise SystemExit(f"not every grid image painted: {visit}")
    times = sorted(v["ms"] for v in warm)
    results.update({
        "images": cold["images"], "in_viewport": cold["in_viewport"],
        "cold_ms": round(cold["ms"], 1), "cold_fetched": cold["fetched"],
        "warm_runs": len(times), "warm_median_ms": round(statistics.median(times), 1),
        "warm_min_ms": round(times[0], 1), "warm_max_ms": round(times[-1], 1),
        "warm_dom_content_loaded_median_ms": round(statistics.median(v["dom_content_loaded"] for v in warm), 1),
        "warm_fetched_max": max(v["fetched"] for v in warm),
        "load_average_at_end": os.getloadavg()[0],
    })
    print(json.dumps(results, indent=2), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
