#!/usr/bin/env python3
"""Find similar by an embedding field through a real server: `similar_to=<uid>&by=clip&k=50` with a filter, in the
explorer (the HTML page, a logged-in session) and in the API (`/api/w/bench/items`, a personal token), against the
workspace `bench/embeddings.py` made. Median and p90 of the wall time of each request over --requests requests
(each with another query item; one request first to map the index), and the load average.

    # the server, on the bench database (its index files in the bench's --index-dir):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ms_knn_bench DEBUG=false SECRET_KEY=... \\
      ALLOWED_HOSTS=127.0.0.1 VECTOR_INDEX_DIR=/tmp/bench-vector-indexes VECTOR_EXACT_MAX=20000 \\
      .venv/bin/gunicorn metadata_site.wsgi -b 127.0.0.1:8765 -w 1
    .venv/bin/python bench/embeddings_http.py --db postgres://postgres@127.0.0.1:5432/ms_knn_bench \\
      --url http://127.0.0.1:8765
"""

import argparse
import os
import secrets
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FILTERS = ("weather:eq:Sunny", "light:eq:Dawn")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--server-pid", type=int, help="the web worker's pid: its memory is reported after the requests")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.db
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")
    import django

    django.setup()
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from metadata_site.accounts.services import api_token_create
    from metadata_site.items.models import Item
    from metadata_site.workspaces.models import Membership, Role, Workspace

    ws = Workspace.objects.get(slug="bench")
    user, _ = get_user_model().objects.get_or_create(username="bench-reader")
    Membership.objects.get_or_create(user=user, workspace=ws, defaults={"role": Role.VIEWER})
    _, token = api_token_create(user=user, name="bench")
    client = Client()
    client.force_login(user)  # a session row in the database the server reads
    session = client.cookies["sessionid"].value
    last = Item.objects.filter(workspace=ws).order_by("-pk").values_list("pk", flat=True).first()
    rng = np.random.default_rng(3)
    uids = []
    while len(uids) < args.requests + 1:
        uid = Item.objects.filter(workspace=ws, pk__lte=int(rng.integers(1, last + 1))).order_by("-pk") \
            .values_list("uid", flat=True).first()
        if uid is not None:
            uids.append(str(uid))
    explorer = args.url + reverse("explorer:explore", args=["bench"])
    api = args.url + "/api/w/bench/items"
    for spec in FILTERS:
        for name, base, headers in (("explorer", explorer, {"Cookie": f"sessionid={session}"}),
                                    ("API", api, {"Authorization": f"Bearer {token}"})):
            times, sizes = [], []
            for uid in uids:
                url = base + "?" + urlencode({"similar_to": uid, "by": "clip", "k": 50, "f": spec})
                started = time.perf_counter()
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=120) as resp:
                    body = resp.read()
                    assert resp.status == 200, resp.status
                times.append((time.perf_counter() - started) * 1000)
                sizes.append(len(body))
            times.pop(0)  # the first request maps the index file in the server
            print(f"{name} similar_to&by=clip&k=50&f={spec}: median {statistics.median(times):.0f} ms, p90 "
                  f"{sorted(times)[int(len(times) * 0.9)]:.0f} ms over {len(times)} requests "
                  f"({statistics.median(sizes) / 1024:.0f} KiB a response); load average "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.server_pid:
        print(_memory(args.server_pid))


def _memory(pid: int) -> str:
    """The worker's resident memory from /proc (Linux): anonymous (the process's own) and file-backed (mapped
    files, the index among them), and its peak."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    mb = {key: int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}
    return (f"web worker {pid}: RSS {mb['VmRSS']:.0f} MB (peak {mb['VmHWM']:.0f}), of which anonymous {mb['RssAnon']:.0f} MB "
            f"and file-backed {mb['RssFile']:.0f} MB (the mapped index's pages among them)")


if __name__ == "__main__":
    main()
