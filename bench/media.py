#!/usr/bin/env python3
"""Media benchmark: the media worker's thumbnails of photos and videos, uploads through the API, serving.

    .venv/bin/python bench/media.py                       # PostgreSQL ms_media_bench (dropped and created again)
    .venv/bin/python bench/media.py --db sqlite:///var/bench_media.sqlite3 --images 200 --photos 300

All media is generated here (Pillow, PyAV), nothing is downloaded. Scenarios:

  images   N distinct 1920×1080 JPEGs stored and attached (one worker task each, as uploads queue them), then
           --workers real `manage.py db_worker --queue-name media` processes make their thumbnails: images/s from
           the first task's start to the last one's end (the workers' own timestamps), and their peak RSS.
  videos   N items of 10-second 1080p H.264 videos (30 fps, a keyframe every 2 s: a poster and 5 keyframe
           thumbnails each), the same way: videos/s.
  upload   P distinct 1920×1080 JPEG files uploaded with `Client.upload_media` to a gunicorn server (2 processes)
           while the media workers run: files/s of the upload, seconds until every thumbnail is made, the
           workers' peak RSS.
  serve    a stored thumbnail fetched again and again through gunicorn by a logged-in browser session (keep-alive):
           the median and 95th percentile in ms.
"""

import argparse
import html
import io
import json
import os
import re
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

from imports import Worker, _reset_database  # noqa: E402  (bench/imports.py)


def photo(seed: int, size=(1920, 1080)) -> bytes:
    """A distinct photo-like JPEG: a gradient with coloured shapes placed by `seed`."""
    from PIL import Image, ImageDraw

    im = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(im)
    for k in range(40):
        x, y = (seed * 97 + k * 211) % (size[0] - 20), (seed * 53 + k * 131) % (size[1] - 20)
        draw.ellipse([x, y, x + 160, y + 100], fill=((k * 40 + seed) % 256, (seed * 7) % 256, (k * 13) % 256))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def video(seed: int, *, seconds: int = 10, fps: int = 30, gop: int = 60) -> bytes:
    """A 1080p H.264 MP4 (a moving box over a gradient), a keyframe every `gop` frames."""
    import av
    from PIL import Image, ImageDraw

    base = Image.linear_gradient("L").resize((1920, 1080)).convert("RGB")
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.options = {"preset": "ultrafast", "keyint_min": str(gop), "sc_threshold": "0"}
        for i in range(seconds * fps):
            im = base.copy()
            ImageDraw.Draw(im).rectangle([i * 6 % 1700, 300 + seed * 40, i * 6 % 1700 + 200, 500 + seed * 40],
                                         fill=(255, (seed * 60) % 256, 0))
            for packet in stream.encode(av.VideoFrame.from_image(im)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc; 0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(workers: list) -> float:
    """Wait until the workers have started (their CPU time stops growing: they only poll); their CPU seconds."""
    before = -1.0
    while True:
        time.sleep(1.0)
        now = sum(cpu_seconds(w.proc.pid) for w in workers)
        if now - before < 0.05 * len(workers):
            return now
        before = now


def stop_all(workers: list) -> float:
    """Stop the workers; returns the CPU seconds they used."""
    used = 0.0
    for w in workers:
        w.sample()
        used += cpu_seconds(w.proc.pid)
        w.stop()
    return used


def run_workers(env: dict, count: int, item_ids: list[int], per_task: int) -> dict:
    """Start `count` media workers, queue the items (`per_task` to a task) once they are up, wait until every
    item is done. Throughput from the tasks' own timestamps, and per CPU second the workers used meanwhile."""
    from django.db.models import Max, Min
    from django_tasks_db.models import DBTaskResult

    from metadata_site.items.models import Item, MediaStatus
    from metadata_site.media.services import media_queue_new

    workers = [Worker(env, "--queue-name", "media") for _ in range(count)]
    try:
        cpu_before = wait_idle(workers)  # Django's start-up is not part of the figure
        for start in range(0, len(item_ids), per_task):
            media_queue_new(item_ids[start:start + per_task])
        while Item.objects.filter(pk__in=item_ids, media_status=MediaStatus.PENDING).exists():
            for w in workers:
                w.sample()
                if w.proc.poll() is not None:
                    raise SystemExit(f"a worker exited with {w.proc.returncode}")
            time.sleep(0.2)
        while DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists():
            time.sleep(0.1)
    finally:
        cpu = stop_all(workers) - cpu_before
    span = DBTaskResult.objects.filter(queue_name="media").aggregate(start=Min("started_at"), end=Max("finished_at"))
    seconds = (span["end"] - span["start"]).total_seconds()
    errors = Item.objects.filter(pk__in=item_ids, media_status=MediaStatus.ERROR).count()
    DBTaskResult.objects.all().delete()
    return {"items": len(item_ids), "seconds": round(seconds, 2), "per_second": round(len(item_ids) / seconds, 1),
            # CPU seconds the workers used from the first task on: a figure the machine's load cannot inflate.
            "worker_cpu_seconds": round(cpu, 2), "per_cpu_second": round(len(item_ids) / cpu, 1),
            "errors": errors, "peak_rss_mb": round(max(w.peak_rss_mb for w in workers), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/ms_media_bench",
                        help="postgres://.../name or sqlite:///path (recreated)")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--photos", type=int, default=1000, help="files uploaded through the API")
    parser.add_argument("--workers", type=int, default=2, help="media worker processes (the machine has 2 cores)")
    parser.add_argument("--requests", type=int, default=300, help="thumbnail requests timed")
    parser.add_argument("--scenarios", default="images,videos,upload,serve")
    parser.add_argument("--server-conn-max-age", default="60",
                        help="gunicorn's DATABASE_CONN_MAX_AGE (the settings' default, 60: persistent connections)")
    parser.add_argument("--workdir", help="where generated media and MEDIA_ROOT go (default: a temporary directory)")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args()
    scenarios = set(args.scenarios.split(","))

    _reset_database(args.db)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ms-media-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "DATABASE_URL": args.db, "DATABASE_CONN_MAX_AGE": "0", "MEDIA_ROOT": str(workdir / "media"),
        "DEBUG": os.environ.get("DEBUG", "false"), "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
    })
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from metadata_site.accounts.services import api_token_create
    from metadata_site.items.models import Item
    from metadata_site.media.services import item_attach_media, media_store
    from metadata_site.projects.models import Folder
    from metadata_site.workspaces.models import Membership, Role, Workspace

    user = get_user_model().objects.create_user("bench", password="bench-password")
    ws = Workspace.objects.create(slug="bench", name="Bench")
    Membership.objects.create(user=user, workspace=ws, role=Role.ADMIN)
    env = {**os.environ}
    results: dict = {"vendor": connection.vendor, "workers": args.workers, "cpus": os.cpu_count(),
                     "load_average_at_start": os.getloadavg()[0]}
    print(f"{connection.vendor}, {args.workers} media workers, load average {os.getloadavg()[0]:.1f}, "
          f"workdir {workdir}", flush=True)

    def attach(folder: Folder, blobs: list, count: int, prefix: str) -> list[int]:
        """Items of `blobs`, not queued yet (run_workers queues them, as the API does: one task per call)."""
        return [item_attach_media(workspace=ws, folder=folder, title=f"{prefix}{n:05d}", blob=blobs[n % len(blobs)],
                                  queue=False).pk for n in range(count)]

    if "images" in scenarios:
        t = time.perf_counter()
        blobs = [media_store(data=photo(n), filename=f"{n}.jpg") for n in range(args.images)]
        print(f"images: {len(blobs)} JPEGs made and stored in {time.perf_counter() - t:.1f} s", flush=True)
        ids = attach(Folder.objects.create(workspace=ws, name="images"), blobs, args.images, "img")
        results["images"] = run_workers(env, args.workers, ids, 25)
        print(f"images: {results['images']}", flush=True)

    if "videos" in scenarios:
        t = time.perf_counter()
        blobs = [media_store(data=video(n), filename=f"{n}.mp4") for n in range(3)]
        print(f"videos: 3 distinct videos encoded in {time.perf_counter() - t:.1f} s", flush=True)
        ids = attach(Folder.objects.create(workspace=ws, name="videos"), blobs, args.videos, "vid")
        results["videos"] = run_workers(env, args.workers, ids, 2)
        keyframes = {len((i.media_info or {}).get("keyframes", [])) for i in Item.objects.filter(pk__in=ids)}
        results["videos"]["keyframes_per_video"] = sorted(keyframes)
        print(f"videos: {results['videos']}", flush=True)

    server = None
    with socket.socket() as probe:  # a free port (other servers may run on this machine)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    if scenarios & {"upload", "serve"}:
        if "serve" in scenarios:  # the folder page is rendered as in production (DEBUG off: hashed static files)
            subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                           check=True)
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:metadata_site.gunicorn", "metadata_site.wsgi",
             "--workers", "2", "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning"], cwd=ROOT, env={**env, "DATABASE_CONN_MAX_AGE": args.server_conn_max_age})
        import httpx

        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
    try:
        if "upload" in scenarios:
            from metadata_site.client import Client

            folder = Folder.objects.create(workspace=ws, name="uploads")
            files = workdir / "photos"
            files.mkdir(exist_ok=True)
            t = time.perf_counter()
            paths = []
            for n in range(args.photos):
                path = files / f"photo_{n:05d}.jpg"
                path.write_bytes(photo(100_000 + n))
                paths.append(path)
            size_mb = sum(p.stat().st_size for p in paths) / 1e6
            print(f"upload: {len(paths)} photos ({size_mb:.0f} MB) made in {time.perf_counter() - t:.1f} s",
                  flush=True)
            token = api_token_create(user=user, name="bench")[1]
            workers = [Worker(env, "--queue-name", "media") for _ in range(args.workers)]
            try:
                cpu_before = wait_idle(workers)
                start = time.perf_counter()
                with Client(f"http://127.0.0.1:{port}", token, workspace="bench", timeout=600) as client:
                    outcome = client.upload_media(folder.pk, paths)
                uploaded = time.perf_counter() - start
                pending = Item.objects.filter(folder=folder, media_status="pending")
                while pending.exists():
                    for w in workers:
                        w.sample()
                    time.sleep(0.2)
                done = time.perf_counter() - start
            finally:
                cpu = stop_all(workers) - cpu_before
            results["upload"] = {
                "files": len(paths), "megabytes": round(size_mb), "created": outcome["created"],
                "failed": outcome["failed"], "upload_seconds": round(uploaded, 1),
                "files_per_second": round(len(paths) / uploaded, 1),
                "all_thumbnails_seconds": round(done, 1), "worker_cpu_seconds": round(cpu, 1),
                "worker_peak_rss_mb": round(max(w.peak_rss_mb for w in workers), 1),
            }
            print(f"upload: {results['upload']}", flush=True)

        if "serve" in scenarios:
            import httpx
            from django.test import Client as DjangoClient

            from metadata_site.media.tasks import make_media_items

            # One item alone in its folder, so the folder page (a grid, as a browser sees it) shows it.
            item = Item.objects.get(pk=attach(Folder.objects.create(workspace=ws, name="serve"),
                                              [media_store(data=photo(7), filename="7.jpg")], 1, "s")[0])
            make_media_items([item.pk])
            item.refresh_from_db()
            from metadata_site.media.selectors import item_thumbnail_url

            session = DjangoClient()
            session.force_login(user)
            cookies = {"sessionid": session.cookies["sessionid"].value}
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(cookies=cookies) as http:
                # The URL a browser gets: from the grid of the explorer page, ticketed for this session.
                page = http.get(f"{base}/w/bench/folders/{item.folder_id}/").text
                srcs = [html.unescape(u) for u in re.findall(r'src="([^"]*/thumb\.png\?v=[^"]*)"', page)]
                ticketed = next(u for u in srcs if str(item.uid) in u and "&t=" in u)
                checked = item_thumbnail_url(slug="bench", item=item)  # no ticket: the membership check

                def timed(path: str) -> list[float]:
                    times = []
                    for n in range(args.requests + 20):
                        t = time.perf_counter()
                        response = http.get(base + path)
                        elapsed = (time.perf_counter() - t) * 1000
                        assert response.status_code == 200 and response.content[:3] == b"\xff\xd8\xff", response
                        if n >= 20:  # warm-up
                            times.append(elapsed)
                    return sorted(times)

                # Alternated in three rounds, so both see the same machine load.
                rounds = [(timed(ticketed), timed(checked)) for _ in range(3)]
            # The same views in this process through Django's test client: their CPU time per request (this
            # process only, PostgreSQL's share excluded), which the machine's load does not inflate.
            cpu = {}
            for name, path in (("ticketed", ticketed), ("checked", checked)):
                spent = []
                for _ in range(args.requests):
                    c = time.process_time()
                    b"".join(session.get(path, headers={"Host": "127.0.0.1"}).streaming_content)
                    spent.append((time.process_time() - c) * 1000)
                cpu[name] = round(statistics.median(spent), 2)
            results["serve"] = {
                "requests": args.requests,
                "ticketed_median_ms": [round(statistics.median(r[0]), 2) for r in rounds],
                "ticketed_p95_ms": [round(r[0][int(len(r[0]) * 0.95) - 1], 2) for r in rounds],
                "checked_median_ms": [round(statistics.median(r[1]), 2) for r in rounds],
                "checked_p95_ms": [round(r[1][int(len(r[1]) * 0.95) - 1], 2) for r in rounds],
                "view_cpu_median_ms": cpu,
            }
            print(f"serve: {results['serve']}", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    results["load_average_at_end"] = os.getloadavg()[0]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
