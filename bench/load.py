"""Mixed load against gunicorn + PostgreSQL on loopback: a thread per simulated user, no extra dependency.

    python bench/load.py --db postgres://postgres@127.0.0.1:5432/ms_security_bench --items 1000000 \
        --users 10,25,50 --duration 300

Setup (skipped with --no-setup when the database is already loaded): recreate the database, migrate, load
the shared corpus (`seed_demo --corpus`, user demo/demo), create an API token, collectstatic. Then for each
user count: start gunicorn, run the users for --duration seconds, stop it, and print one line per request
kind (count, errors, p50/p95/p99 ms) and the totals (requests/s). The mix, per request:

    60% explorer with filters (the shared benchmark queries Q1–Q7, random page sorts), then, as a browser
        does when the page loads, its lazy count and facet partials (htmx requests, timed as kinds of their own)
        and the thumbnails of the tiles in view (the first THUMBS_IN_VIEW images of the page that this user has
        not fetched in the last hour, as a browser's cache keeps them: `Cache-Control: private, max-age=3600`)
    20% item pages (random items)
    15% metadata edits (API PATCH of one key of a random item)
     5% custom data saves (API PUT of the project's custom data, If-Match from a GET; a 412 counts as a
        conflict, not an error)

Each user waits --think seconds (uniform in MIN,MAX; default 1–3 s, as a locustfile's `between(1, 3)`)
between requests; `--think 0,0` makes a closed loop that measures saturation throughput instead.
--with-import also runs a metadata import of --import-rows rows during each run, queued with
`import_metadata --background` and applied by a real `db_worker`.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MIX = [("explore", 60), ("item", 20), ("metadata", 15), ("custom_data", 5)]
# What an explorer page load also asks for (hx-trigger="load"): timed on their own, not as part of the page.
PARTIALS = ("count", "facets")
# A count answered first by its labelled estimate asks for the exact figure (hx-get ...&exact=1, hx-trigger="load").
KINDS = [k for k, _ in MIX] + list(PARTIALS) + ["count_exact", "thumbnail"]
# The tiles a 1080p window shows without scrolling (4 rows of 6 at the grid's default tile size); `loading="lazy"`
# fetches only those.
THUMBS_IN_VIEW = 24
THUMB_CACHE_SECONDS = 3600


def _env(db: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": db,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_CONN_MAX_AGE": "60",
    }


def _manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True,
                            capture_output=capture)
    return result.stdout if capture else ""


def setup(args, env: dict, workdir: Path) -> None:
    parts = urlsplit(args.db)
    name = parts.path.lstrip("/")
    import psycopg

    with psycopg.connect(args.db.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    _manage(env, "migrate", "--noinput")
    corpus = workdir / "items.jsonl"
    with corpus.open("w") as out:
        subprocess.run([PY, args.generator, str(args.items)], stdout=out, check=True)
    t0 = time.perf_counter()
    _manage(env, "seed_demo", "--corpus", str(corpus), "--workspace", args.workspace, "--force")
    print(f"loaded {args.items:,} items in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    _manage(env, "explorer_indexes", "--workspace", args.workspace)  # what the worker does when fields are declared
    with psycopg.connect(args.db, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE items_item")
    print(f"explorer indexes built and table analysed in {time.perf_counter() - t0:.0f} s", flush=True)
    _manage(env, "collectstatic", "--noinput", "-v", "0")


def _token(env: dict) -> str:
    out = _manage(env, "create_api_token", "demo", capture=True)
    return re.search(r"msk_\S+", out).group()


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {k: [] for k in KINDS}
        self.errors: dict[str, list[str]] = {k: [] for k in KINDS}
        self.conflicts = 0
        self.finished: list[tuple[float, float]] = []  # (wall clock at the end, seconds) of every request

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            self.finished.append((time.time(), seconds))
            if error:
                self.errors[kind].append(error)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


class User(threading.Thread):
    def __init__(self, base: str, ctx: dict, results: Results, until: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.base, self.ctx, self.results, self.until = base, ctx, results, until
        self.rng = random.Random(seed)
        self.loaded: str | None = None  # the query string of the explorer page just loaded
        self.thumbs: list[str] = []  # the thumbnail URLs in view on that page
        self.cached: dict[str, float] = {}  # thumbnail URL -> when this user's "browser" fetched it
        self.session = requests.Session()
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {ctx['token']}"

    def run(self) -> None:
        kinds = [k for k, w in MIX for _ in range(w)]
        low, high = self.ctx["think"]
        while time.time() < self.until:
            kind = self.rng.choice(kinds)
            t0 = time.perf_counter()
            try:
                error = getattr(self, kind)()
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {str(exc)[:120]}"
            self.results.add(kind, time.perf_counter() - t0, error)
            if kind == "explore" and self.loaded is not None:
                self.partials(self.loaded)
                self.thumbnails()
            if high > 0:  # a person reads the page before the next click (locust's wait_time = between(low, high))
                time.sleep(min(self.rng.uniform(low, high), max(0.0, self.until - time.time())))

    def _ok(self, response, *allowed: int) -> str | None:
        return None if response.status_code in (allowed or (200,)) else f"HTTP {response.status_code}"

    def explore(self) -> str | None:
        qs = self.rng.choice(self.ctx["queries"])
        sort = self.rng.choice(["", "&sort=-temperature", "&sort=captured_at", "&view=table"])
        r = self.session.get(f"{self.base}/w/{self.ctx['ws']}/explore/?{qs}{sort}", timeout=30)
        error = self._ok(r)
        self.loaded = qs if error is None else None
        self.thumbs = re.findall(r'<img src="([^"]*/thumb\.png[^"]*)"', r.text)[:THUMBS_IN_VIEW] if error is None else []
        return error

    def thumbnails(self) -> None:
        """The tiles' images a browser fetches (the ones it holds no fresh copy of)."""
        now = time.time()
        for src in self.thumbs:
            url = src.replace("&amp;", "&")
            if now - self.cached.get(url, -THUMB_CACHE_SECONDS) < THUMB_CACHE_SECONDS:
                continue
            t0 = time.perf_counter()
            try:
                error = self._ok(self.session.get(f"{self.base}{url}", timeout=30))
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {str(exc)[:120]}"
            self.results.add("thumbnail", time.perf_counter() - t0, error)
            if error is None:
                self.cached[url] = now

    def partials(self, qs: str) -> None:
        """The page's lazy count and facets, requested one after the other as htmx does on load, and the exact
        count after an estimate."""
        follow = None
        for kind in PARTIALS:
            t0 = time.perf_counter()
            try:
                r = self.session.get(f"{self.base}/w/{self.ctx['ws']}/explore/{kind}/?{qs}",
                                     headers={"HX-Request": "true"}, timeout=30)
                error = self._ok(r)
                if kind == "count" and error is None:
                    found = re.search(r'hx-get="([^"]*exact=1[^"]*)"', r.text)
                    follow = found.group(1).replace("&amp;", "&") if found else None
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {str(exc)[:120]}"
            self.results.add(kind, time.perf_counter() - t0, error)
        if follow:
            t0 = time.perf_counter()
            try:
                error = self._ok(self.session.get(f"{self.base}{follow}", headers={"HX-Request": "true"}, timeout=30))
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {str(exc)[:120]}"
            self.results.add("count_exact", time.perf_counter() - t0, error)

    def item(self) -> str | None:
        uid = self.rng.choice(self.ctx["uids"])
        return self._ok(self.session.get(f"{self.base}/w/{self.ctx['ws']}/items/{uid}/", timeout=30))

    def metadata(self) -> str | None:
        uid = self.rng.choice(self.ctx["uids"])
        body = {"temperature": round(self.rng.uniform(-10, 40), 1)}
        r = self.api.patch(f"{self.base}/api/w/{self.ctx['ws']}/items/{uid}/metadata", json=body, timeout=30)
        return self._ok(r)

    def custom_data(self) -> str | None:
        url = f"{self.base}/api/w/{self.ctx['ws']}/projects/{self.ctx['project']}/custom_data"
        current = self.api.get(url, timeout=30)
        if current.status_code != 200:
            return f"HTTP {current.status_code}"
        data = {"runs": self.rng.randint(0, 10**6), "owner": "load"}
        r = self.api.put(url, json=data, headers={"If-Match": current.headers.get("ETag", "")}, timeout=30)
        if r.status_code == 412:
            with self.results.lock:
                self.results.conflicts += 1
            return None
        return self._ok(r)


def _login(base: str, session: requests.Session) -> None:
    page = session.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    r = session.post(f"{base}/accounts/login/", data={"username": "demo", "password": "demo",
                     "csrfmiddlewaretoken": token}, headers={"Referer": f"{base}/accounts/login/"}, timeout=30)
    if "sessionid" not in session.cookies:
        raise SystemExit(f"login failed: HTTP {r.status_code}")


def _context(base: str, env: dict, args) -> dict:
    token = _token(env)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    queries = json.loads(subprocess.run([PY, args.generator, "1000", "--format", "queries"], capture_output=True,
                                        text=True, check=True).stdout)
    # Items spread over the corpus: the first page of every benchmark query.
    uids: list[str] = []
    for q in [""] + [q["query_string"] for q in queries.values()]:
        r = api.get(f"{base}/api/w/{args.workspace}/items?limit=300&{q}", timeout=120)
        if r.status_code == 200:
            uids += [i["uid"] for i in r.json()["results"]]
    if not uids:
        raise SystemExit("no items found through the API")
    projects = api.get(f"{base}/api/w/{args.workspace}/projects", timeout=30).json()["results"]
    if not projects:
        _manage(env, "shell", "-c", "from metadata_site.projects.models import Project; "
                "from metadata_site.workspaces.models import Workspace; from django.utils import timezone; "
                f"Project.objects.create(workspace=Workspace.objects.get(slug={args.workspace!r}), name='load', "
                "updated_at=timezone.now())")
        projects = api.get(f"{base}/api/w/{args.workspace}/projects", timeout=30).json()["results"]
    return {"token": token, "uids": uids, "project": projects[0]["id"], "ws": args.workspace,
            "queries": [q["query_string"] for q in queries.values()], "think": args.think}


def _gunicorn(env: dict, port: int, workers: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(Path(PY).parent / "gunicorn"), "metadata_site.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "--threads", "4", "--timeout", "60", "--log-level", "warning",
         # Idle keep-alive connections outlive a user's think time: otherwise the server closes one just as the
         # client reuses it, and that race shows up as a ConnectionError that no browser would show.
         "--keep-alive", "10"],
        cwd=ROOT, env=env,
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def run_level(base: str, ctx: dict, users: int, duration: float) -> dict:
    results = Results()
    pool = [User(base, ctx, results, 0.0, seed=i) for i in range(users)]
    for u in pool:
        _login(base, u.session)
    t0 = time.perf_counter()
    for u in pool:
        u.until = time.time() + duration
        u.start()
    for u in pool:
        u.join()
    elapsed = time.perf_counter() - t0
    rows = {}
    for kind in KINDS:
        t = results.times[kind]
        rows[kind] = {"n": len(t), "errors": len(results.errors[kind]), "p50": _pct(t, 50), "p95": _pct(t, 95),
                      "p99": _pct(t, 99), "sample_errors": sorted(set(results.errors[kind]))[:3]}
    every = [x for t in results.times.values() for x in t]
    total = {"users": users, "requests": len(every), "rps": len(every) / elapsed,
             "errors": sum(len(e) for e in results.errors.values()), "conflicts": results.conflicts,
             "p50": _pct(every, 50), "p95": _pct(every, 95), "p99": _pct(every, 99),
             "mean": statistics.fmean(every) * 1000 if every else 0}
    return {"total": total, "kinds": rows, "finished": results.finished}


def _window(result: dict, start: float, end: float) -> dict:
    """Percentiles of the requests that ended between `start` and `end` (while the import ran)."""
    inside = [s for t, s in result["finished"] if start <= t <= end]
    return {"requests": len(inside), "p50": _pct(inside, 50), "p95": _pct(inside, 95), "p99": _pct(inside, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/ms_security_bench")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--workspace", default="bench")
    parser.add_argument("--users", default="10,25,50", help="comma-separated user counts, one run each")
    parser.add_argument("--duration", type=float, default=300, help="seconds per run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (4 threads each)")
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--no-setup", action="store_true", help="reuse the loaded database")
    parser.add_argument("--with-import", action="store_true", help="run a metadata import in a db_worker meanwhile")
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    parser.add_argument("--generator", default="../shared/bench/gen_metadata.py")
    parser.add_argument("--think", default="1,3",
                        help="seconds each user waits between requests, uniform in MIN,MAX (0,0: none, a closed loop)")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    args.think = tuple(float(x) for x in args.think.split(","))
    args.generator = str((ROOT / args.generator).resolve()) if not os.path.isabs(args.generator) else args.generator
    env = _env(args.db)
    workdir = Path(tempfile.mkdtemp(prefix="ms_load_"))
    env["MEDIA_ROOT"] = str(workdir / "media")
    try:
        if not args.no_setup:
            setup(args, env, workdir)
        base = f"http://127.0.0.1:{args.port}"
        report = []
        for users in [int(u) for u in args.users.split(",")]:
            env["EXPLORER_CACHE_DIR"] = str(workdir / f"explorer-cache-{users}")  # each run starts with nothing kept
            server = _gunicorn(env, args.port, args.workers)
            worker = None
            try:
                ctx = _context(base, env, args)
                if args.with_import:
                    worker = _start_import(env, args, workdir)
                import_start = time.perf_counter()
                result = run_level(base, ctx, users, args.duration)
                result["total"]["with_import"] = bool(args.with_import)
                result["total"]["think"] = list(args.think)
                if args.with_import:
                    result["total"]["import"] = info = _import_progress(env, time.perf_counter() - import_start)
                    if info.get("started") and info.get("finished"):
                        result["total"]["during_import"] = _window(result, info["started"], info["finished"])
                result.pop("finished")
                report.append(result)
                _print(result)
            finally:
                for proc in (server, worker):
                    if proc is not None:
                        proc.send_signal(signal.SIGTERM)
                        try:
                            proc.wait(30)
                        except subprocess.TimeoutExpired:  # a worker in the middle of a batch: its batch rolls back
                            proc.kill()
                            proc.wait(30)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _start_import(env: dict, args, workdir: Path) -> subprocess.Popen:
    """A metadata import of --import-rows rows (the corpus' own items, merge mode, with values of this run's own so
    every row changes), queued with `import_metadata --background` and run by a real `db_worker`."""
    corpus = workdir / "import.jsonl"
    with corpus.open("w") as out:
        generated = subprocess.run([PY, args.generator, str(args.import_rows)], capture_output=True, text=True,
                                   check=True).stdout
        stamp = int(time.time())  # a value of this run's own, so every row changes even on a database reused
        for line in generated.splitlines():
            row = json.loads(line)
            row["metadata"] = {"temperature": round(row["metadata"]["temperature"] + 0.5, 2), "import_run": stamp}
            out.write(json.dumps(row) + "\n")
    _manage(env, "import_metadata", "--workspace", args.workspace, "--background", str(corpus), capture=True)
    return subprocess.Popen([PY, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.5"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _import_progress(env: dict, seconds: float) -> dict:
    """The newest import task's status and rows applied, at the end of a run."""
    out = _manage(env, "shell", "-c", "import json; from metadata_site.imports.models import ImportTask; "
                  "t = ImportTask.objects.order_by('-pk').first(); "
                  "print(json.dumps({'status': t.status, 'rows': t.updated_rows + t.unchanged_rows, "
                  "'progress': float(t.progress), 'started': t.started_at and t.started_at.timestamp(), "
                  "'finished': t.finished_at and t.finished_at.timestamp()}))", capture=True)
    info = json.loads(out.strip().splitlines()[-1])
    took = (info["finished"] - info["started"]) if info["started"] and info["finished"] else seconds
    info["seconds"] = round(took, 1)
    info["rows_per_second"] = round(info["rows"] / took)
    return info


def _print(result: dict) -> None:
    t = result["total"]
    if t.get("import"):
        print(f"\nimport during the run: {t['import']}")
    if t.get("during_import"):
        d = t["during_import"]
        print(f"while the import ran: {d['requests']:,} requests, p50 {d['p50']:.0f} ms, p95 {d['p95']:.0f} ms, "
              f"p99 {d['p99']:.0f} ms")
    print(f"\n{t['users']} users{' + import' if t.get('with_import') else ''}: {t['requests']:,} requests, "
          f"{t['rps']:.1f} req/s, {t['errors']} errors, {t['conflicts']} conflicts (412), "
          f"p50 {t['p50']:.0f} ms, p95 {t['p95']:.0f} ms, p99 {t['p99']:.0f} ms")
    for kind, row in result["kinds"].items():
        print(f"  {kind:12} n={row['n']:6} errors={row['errors']:4} p50={row['p50']:6.0f} p95={row['p95']:6.0f} "
              f"p99={row['p99']:6.0f} ms {row['sample_errors'] or ''}")


if __name__ == "__main__":
    main()
