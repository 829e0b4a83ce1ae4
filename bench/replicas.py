"""What reading on a replica costs a request: the same pages served by gunicorn with reads on the primary, on a
streaming replica, and with a replica that refuses connections (reads fall back to the primary).

    .venv/bin/python bench/replicas.py --primary postgres://postgres@127.0.0.1:55432/app \\
        --replica postgres://postgres@127.0.0.1:55433/app [--requests 200] [--items 2000]

The primary's database must be migrated; the script adds (once) a user and a workspace `replica-bench` with
`--items` items. Each mode starts its own gunicorn (1 process, 2 threads, persistent connections), logs in,
drops the login's pin cookie, warms up, then times `--requests` sequential GETs of an item page, the explorer grid
and an API read: median and 95th percentile in ms. Not a test: figures go to bench/README.md.
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-replicas-password"
SEED = """
from metadata_site.items.models import Item, ItemKind
from metadata_site.projects.models import Folder
from metadata_site.workspaces.models import Membership, Role, Workspace
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username="replica-bench")
user.set_password({password!r}); user.save()
ws, _ = Workspace.objects.get_or_create(slug="replica-bench", defaults={{"name": "Replica bench"}})
Membership.objects.get_or_create(user=user, workspace=ws, defaults={{"role": Role.ADMIN}})
folder, _ = Folder.objects.get_or_create(workspace=ws, parent=None, name="bench")
missing = {items} - Item.objects.filter(folder=folder).count()
Item.objects.bulk_create([Item(workspace=ws, folder=folder, title=f"b{{k:06d}}.jpg", kind=ItemKind.IMAGE,
                               client_metadata={{"weather": ["Sunny", "Rain"][k % 2], "n": k}}) for k in range(max(0, missing))])
print(Item.objects.filter(folder=folder).order_by("id").values_list("uid", flat=True).first())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:metadata_site.gunicorn", "metadata_site.wsgi",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start")


def timed(client: httpx.Client, path: str, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--primary", required=True)
    parser.add_argument("--replica", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    base = {**os.environ, "DATABASE_URL": args.primary, "DEBUG": "true", "DATABASE_CONN_MAX_AGE": "60"}
    base.pop("DATABASE_REPLICA_URLS", None)
    seeded = subprocess.run([sys.executable, "manage.py", "shell", "-c", SEED.format(password=PASSWORD, items=args.items)],
                            cwd=ROOT, env=base, capture_output=True, text=True, check=True)
    uid = seeded.stdout.strip().splitlines()[-1]
    refused = f"postgres://postgres@127.0.0.1:{free_port()}/app"
    modes = [("primary only", None), ("streaming replica", args.replica), ("replica refusing connections", refused)]
    paths = [("item page", f"/w/replica-bench/items/{uid}/"), ("explorer grid", "/w/replica-bench/explore/"),
             ("API item metadata", f"/api/w/replica-bench/items/{uid}/metadata")]
    print(f"{args.items} items, {args.requests} sequential requests each; median / p95 ms")
    print("| mode | " + " | ".join(name for name, _ in paths) + " |")
    print("|---|" + "---|" * len(paths))
    for mode, replica in modes:
        env = dict(base)
        if replica:
            env["DATABASE_REPLICA_URLS"] = replica
        process, url = serve(env)
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                client.get("/accounts/login/")
                client.post("/accounts/login/", data={"username": "replica-bench", "password": PASSWORD,
                                                      "csrfmiddlewaretoken": client.cookies["csrftoken"]})
                client.cookies.delete("ms_primary")
                time.sleep(0.5)  # the replica receives the session
                cells = []
                for _, path in paths:
                    timed(client, path, 10)
                    median, p95 = timed(client, path, args.requests)
                    cells.append(f"{median:.1f} / {p95:.1f}")
                print(f"| {mode} | " + " | ".join(cells) + " |")
        finally:
            process.send_signal(signal.SIGQUIT)
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
