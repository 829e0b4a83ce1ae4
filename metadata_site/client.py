"""A small Python client for the metadata_site API. No Django: only httpx (and tqdm for progress bars).

    from metadata_site.client import Client

    client = Client("http://127.0.0.1:8000", token="msk_...", workspace="acme")
    info = client.project.get_custom_data(3)
    client.dataset.update_custom_data(7, {"split": "train"}, silent=True)
    for item in client.items.list(["weather:in:Sunny,Rain", "temperature:gt:30"], scope="dataset:7"):
        print(item["uid"], item["metadata"])
    client.items.update_metadata({"f3e3d00c-...": {"weather": "Sunny"}}, mode="merge")

Every failed call raises `ApiError` with the server's `status`, `detail` and `errors`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

BATCH_SIZE = 10_000
UPLOAD_BATCH_FILES = 50  # the server reads at most 100 files per request (Django's DATA_UPLOAD_MAX_NUMBER_FILES)
UPLOAD_BATCH_BYTES = 64 * 1024 * 1024


class ApiError(Exception):
    """The server refused a call: `status` (HTTP), `detail` (message) and `errors` ([{"loc", "msg"}])."""

    def __init__(self, status: int, detail: str, errors: list[dict] | None = None):
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors or []


class Client:
    """`url` is the site's root (``http://host:port``); `workspace` is a workspace slug (optional when the
    token's user belongs to exactly one workspace)."""

    def __init__(self, url: str, token: str, *, workspace: str | None = None, timeout: float = 120.0,
                 transport: httpx.BaseTransport | None = None):
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url + "/api",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self._workspace = workspace
        self.project = _Info(self, "projects")
        self.dataset = _Datasets(self, "datasets")
        self.items = _Items(self)
        self.schema = _Schema(self)
        self.change_sets = _ChangeSets(self)
        self.imports = _Imports(self)
        self.collections = _Collections(self)

    # --- plumbing ----------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def workspace(self) -> str:
        if self._workspace is None:
            rows = self.request("GET", "/workspaces").json()["results"]
            if len(rows) != 1:
                raise ValueError(f"Pass workspace=: this token's user belongs to {len(rows)} workspaces")
            self._workspace = rows[0]["slug"]
        return self._workspace

    def w(self, path: str) -> str:
        return f"/w/{self.workspace}{path}"

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        resp = self._http.request(method, path, **kwargs)
        if resp.status_code >= 400:
            try:
                body = resp.json()
                detail, errors = body.get("detail", resp.reason_phrase), body.get("errors", [])
            except ValueError:
                detail, errors = resp.text[:500] or resp.reason_phrase, []
            raise ApiError(resp.status_code, str(detail), errors)
        return resp

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs).json()

    def pages(self, path: str, params: Any = None) -> Iterator[dict]:
        """Every result of a paginated list, following `next`."""
        body = self.get(path, params=params)
        while True:
            yield from body["results"]
            if not body.get("next"):
                return
            body = self.request("GET", body["next"]).json()

    def workspaces(self) -> list[dict]:
        return list(self.pages("/workspaces"))

    def upload_media(self, folder_id: int, paths: Iterable[str | Path], metadata: Mapping[str, Mapping] | None = None,
                     *, batch_files: int = UPLOAD_BATCH_FILES, batch_bytes: int = UPLOAD_BATCH_BYTES,
                     progress: bool = False) -> dict:
        """Upload image and video files into a folder: each becomes an item titled by its file name (or updates
        the item of that title there). `metadata` maps a file name to its metadata object. Files travel in
        batches (at most `batch_files` files or about `batch_bytes` bytes per request). Returns
        ``{"created", "updated", "failed", "results": [{"index", "file", "status", "uid", "code", "error",
        "errors"}]}`` with one row per path, in order; a refused file is a failed row, not an exception."""
        paths = [Path(p) for p in paths]
        metadata = dict(metadata or {})
        total = {"created": 0, "updated": 0, "failed": 0, "results": []}
        bar = _progress(len(paths), "file") if progress else None
        start = 0
        while start < len(paths):
            end, size = start, 0
            while end < len(paths) and end - start < batch_files and (end == start or size < batch_bytes):
                size += paths[end].stat().st_size
                end += 1
            rows = self._upload_batch(folder_id, paths[start:end], metadata)
            for row in rows:
                row["index"] += start
                total[row["status"]] += 1
            total["results"].extend(rows)
            if bar is not None:
                bar.update(end - start)
            start = end
        if bar is not None:
            bar.close()
        return total

    def _upload_batch(self, folder_id: int, paths: list[Path], metadata: Mapping[str, Mapping]) -> list[dict]:
        handles = [p.open("rb") for p in paths]
        try:
            files = [("files", (p.name, fh)) for p, fh in zip(paths, handles, strict=True)]
            batch_md = {p.name: metadata[p.name] for p in paths if p.name in metadata}
            data = {"metadata": json.dumps(batch_md)} if batch_md else None
            try:
                return self.request("POST", self.w(f"/folders/{int(folder_id)}/media"), files=files,
                                    data=data).json()["results"]
            except ApiError as exc:
                # No file of the batch was accepted: the answer is the error, with one entry per file.
                per_file = [e for e in exc.errors if e.get("loc", [])[:2] == ["body", "files"]]
                if len(per_file) != len(paths):
                    raise
                return [{"index": e["loc"][2], "file": paths[e["loc"][2]].name, "status": "failed", "uid": None,
                         "code": exc.status, "error": e["msg"].split(": ", 1)[-1], "errors": []} for e in per_file]
        finally:
            for fh in handles:
                fh.close()


class _Info:
    """Projects (and, through the subclass, datasets): list, get, custom data, README."""

    def __init__(self, client: Client, kind: str):
        self._c = client
        self._kind = kind

    def _path(self, obj_id: int, suffix: str = "") -> str:
        return self._c.w(f"/{self._kind}/{int(obj_id)}{suffix}")

    def list(self) -> list[dict]:
        return list(self._c.pages(self._c.w(f"/{self._kind}")))

    def get(self, obj_id: int) -> dict:
        return self._c.get(self._path(obj_id))

    def info(self, obj_id: int) -> dict:
        return self._c.get(self._path(obj_id, "/info"))

    def get_custom_data(self, obj_id: int) -> dict:
        return self._c.get(self._path(obj_id, "/custom_data"))

    def get_custom_data_with_version(self, obj_id: int) -> tuple[dict, str]:
        """The custom data and its ETag (pass it as `if_match` to write only on top of this version)."""
        resp = self._c.request("GET", self._path(obj_id, "/custom_data"))
        return resp.json(), resp.headers["ETag"]

    def update_custom_data(self, obj_id: int, data: Mapping, *, silent: bool = False,
                           if_match: str | None = None) -> dict:
        """Replace the custom data. `silent` leaves `updated_at` unchanged; `if_match` (an ETag) makes the
        write fail with 412 if someone saved in between."""
        headers = {"If-Match": if_match} if if_match else {}
        return self._c.request("PUT", self._path(obj_id, "/custom_data"), params={"silent": silent},
                               content=json.dumps(data), headers={"Content-Type": "application/json", **headers}).json()

    def patch_custom_data(self, obj_id: int, patch: Mapping, *, silent: bool = False) -> dict:
        """Merge `patch` into the custom data (JSON Merge Patch: None removes a key)."""
        return self._c.request("PATCH", self._path(obj_id, "/custom_data"), params={"silent": silent},
                               content=json.dumps(patch), headers={"Content-Type": "application/json"}).json()

    def get_readme(self, obj_id: int) -> str:
        return self._c.get(self._path(obj_id, "/readme"))["readme"]

    def update_readme(self, obj_id: int, text: str, *, silent: bool = False) -> dict:
        return self._c.request("PUT", self._path(obj_id, "/readme"), params={"silent": silent},
                               json={"readme": text}).json()


class _Datasets(_Info):
    def create_from_collections(self, *, name: str, project: int, collections: Iterable[int], **extra) -> dict:
        """Make a dataset of the items of `collections` (built in the background; poll `get` for status)."""
        body = {"name": name, "project": project, "collections": [int(c) for c in collections], **extra}
        return self._c.request("POST", self._c.w("/datasets/from_collections"), json=body).json()


def _filters(filters: Any) -> tuple[list[str] | None, dict | None]:
    """(query-string conditions, JSON form) from what `items.list` accepts."""
    if filters is None:
        return [], None
    if isinstance(filters, Mapping):
        return None, dict(filters)
    if isinstance(filters, str):
        return [filters], None
    out: list[str] = []
    for f in filters:
        if isinstance(f, str):
            out.append(f)
        else:
            field, op, *value = f
            if value:
                v = value[0]
                v = ",".join(map(str, v)) if isinstance(v, list | tuple) and op != "between" else (
                    f"{v[0]}..{v[1]}" if isinstance(v, list | tuple) else v)
                out.append(f"{field}:{op}:{str(v).lower() if isinstance(v, bool) else v}")
            else:
                out.append(f"{field}:{op}")
    return out, None


class _Items:
    def __init__(self, client: Client):
        self._c = client

    def list(self, filters: Any = None, *, scope: str | None = None, sort: str | None = None,
             page_size: int = 500, max_items: int | None = None) -> Iterator[dict]:
        """Items matching `filters`, page after page.

        `filters`: ``"weather:eq:Sunny"``, a list of such strings or of ``(field, op, value)`` tuples (all must
        hold), or the JSON form ``{"all": [...], "any": [...]}`` (sent to the search endpoint)."""
        conditions, json_form = _filters(filters)
        seen = 0
        if json_form is None:
            params: list[tuple[str, Any]] = [("f", c) for c in conditions] + [("limit", page_size)]
            if scope:
                params.append(("scope", scope))
            if sort:
                params.append(("sort", sort))
            source: Iterator[dict] = self._c.pages(self._c.w("/items"), params=params)
        else:
            source = self._search(json_form, scope=scope, sort=sort, page_size=page_size)
        for item in source:
            if max_items is not None and seen >= max_items:
                return
            seen += 1
            yield item

    def _search(self, form: dict, *, scope, sort, page_size: int) -> Iterator[dict]:
        body = {**form, "limit": page_size}
        if scope:
            body["scope"] = scope
        if sort:
            body["sort"] = sort
        while True:
            page = self._c.request("POST", self._c.w("/items/search"), json=body).json()
            yield from page["results"]
            if not page.get("next"):
                return
            body["cursor"] = page["next"]

    def get(self, uid: str) -> dict:
        return self._c.get(self._c.w(f"/items/{uid}"))

    def get_metadata(self, uid: str) -> dict:
        return self._c.get(self._c.w(f"/items/{uid}/metadata"))

    def similar(self, uid: str, *, k: int = 50, by: str | None = None, filters: Any = None,
                scope: str | None = None) -> list[dict]:
        """The `k` items nearest to item `uid` among those matching `filters` (strings or tuples, as `list`), by
        the embedding field `by` or, without it, the built-in visual descriptor; nearest first, each with its
        `distance`."""
        conditions, json_form = _filters(filters)
        if json_form is not None:
            raise ValueError("similar() takes filters as strings or (field, op, value) tuples")
        params: list[tuple[str, Any]] = [("f", c) for c in conditions] + [("similar_to", uid), ("k", k)]
        if by:
            params.append(("by", by))
        if scope:
            params.append(("scope", scope))
        return self._c.get(self._c.w("/items"), params=params)["results"]

    def update_metadata(self, ids_or_dict: Mapping[str, Mapping] | Iterable[str], metadata: Mapping | None = None,
                        *, mode: str = "merge", batch_size: int = BATCH_SIZE, progress: bool = False) -> dict:
        """Write metadata: ``{uid: metadata}``, or a list of uids that all get `metadata`.

        Sent in batches of at most 10,000 items (each batch one change set). Returns totals, the change
        set ids and the rows that failed (with their errors)."""
        if isinstance(ids_or_dict, Mapping):
            pairs = [(str(k), dict(v)) for k, v in ids_or_dict.items()]
        else:
            if metadata is None:
                raise ValueError("Pass metadata= when giving a list of item ids")
            pairs = [(str(uid), dict(metadata)) for uid in ids_or_dict]
        batch_size = max(1, min(batch_size, BATCH_SIZE))
        totals: dict[str, Any] = {"changed": 0, "unchanged": 0, "failed": 0, "change_sets": [], "failures": []}
        bar = _progress(len(pairs), "items") if progress else None
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start : start + batch_size]
            body = {"mode": mode, "updates": [{"uid": u, "metadata": m} for u, m in chunk]}
            result = self._c.request("POST", self._c.w("/items/metadata"), json=body).json()
            for key in ("changed", "unchanged", "failed"):
                totals[key] += result[key]
            if result["change_set"]:
                totals["change_sets"].append(result["change_set"])
            totals["failures"] += [{**r, "index": r["index"] + start} for r in result["results"]
                                   if r["status"] == "failed"]
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        return totals


class _Schema:
    def __init__(self, client: Client):
        self._c = client

    def get(self) -> dict:
        return self._c.get(self._c.w("/schema"))

    def versions(self) -> list[dict]:
        return list(self._c.pages(self._c.w("/schema/versions")))

    def declare(self, name: str, type: str, *, options: Iterable[str] | None = None, is_multi: bool = False,
                description: str = "", unit: str = "", dimension: int | None = None,
                distance: str | None = None) -> dict:
        """Declare a field; an ``"embedding"`` field takes a `dimension` (1 to 4,096) and a `distance` (cosine,
        the default, or euclidean). Its vectors are then written like any metadata value (`items.update_metadata`),
        as lists of numbers, and stored apart from the JSON document."""
        body = {"name": name, "type": type, "options": list(options or []), "is_multi": is_multi,
                "description": description, "unit": unit}
        if type == "embedding":
            body.update(dimension=dimension, distance=distance or "cosine")
        return self._c.request("POST", self._c.w("/schema/fields"), json=body).json()

    def import_(self, fields: list[dict] | dict, *, dry_run: bool = False) -> dict:
        """Replace the schema with `fields` (a list of declarations, or ``{"fields": [...]}``)."""
        if isinstance(fields, Mapping):
            fields = list(fields["fields"])
        return self._c.request("PUT", self._c.w("/schema"), params={"dry_run": dry_run},
                               json={"fields": fields}).json()


class _ChangeSets:
    def __init__(self, client: Client):
        self._c = client

    def list(self) -> Iterator[dict]:
        return self._c.pages(self._c.w("/change_sets"))

    def undo(self, change_set_id: int) -> dict:
        return self._c.request("POST", self._c.w(f"/change_sets/{int(change_set_id)}/undo")).json()


FINISHED = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"}


class _Imports:
    def __init__(self, client: Client):
        self._c = client

    def get(self, task_id: str) -> dict:
        return self._c.get(self._c.w(f"/imports/{task_id}"))

    def list(self) -> Iterator[dict]:
        return self._c.pages(self._c.w("/imports"))

    def upload(self, path: str | Path, *, kind: str = "metadata_rows", mode: str = "merge",
               target: Mapping | None = None, dry_run: bool = False, policy: str = "skip_bad_rows",
               wait: bool = True, progress: bool = True, poll_interval: float = 0.5, timeout: float = 3600) -> dict:
        """Create an import task and upload `path` (JSON, JSONL or CSV); the server checks it and, unless
        `dry_run`, applies it with `policy`. With `wait`, follow it to the end (a tqdm progress bar with
        `progress`) and return its final status; `sample_errors` lists bad rows as {reason, row_index}."""
        body = {"kind": kind, "mode": mode, "target": dict(target or {}), "dry_run": dry_run,
                "policy": "" if dry_run else policy}
        task = self._c.request("POST", self._c.w("/imports"), json=body).json()
        path = Path(path)
        with path.open("rb") as fh:
            task = self._c.request("POST", self._c.w(f"/imports/{task['id']}/upload"),
                                   files={"file": (path.name, fh)}).json()
        if not wait:
            return task
        return self.wait(task["id"], progress=progress, poll_interval=poll_interval, timeout=timeout,
                         until=("VALIDATED", *FINISHED) if dry_run else FINISHED)

    def apply(self, task_id: str, *, policy: str = "skip_bad_rows") -> dict:
        """Apply a checked (dry-run) task."""
        return self._c.request("POST", self._c.w(f"/imports/{task_id}/apply"), json={"policy": policy}).json()

    def wait(self, task_id: str, *, progress: bool = True, poll_interval: float = 0.5,
             timeout: float = 3600, until: Iterable[str] = FINISHED) -> dict:
        bar = _progress(100, "%") if progress else None
        deadline = time.monotonic() + timeout
        task = self.get(task_id)
        shown = 0.0
        until = set(until)
        while task["status"] not in until:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Import {task_id} still {task['status']} after {timeout} s")
            if bar is not None:
                bar.update(max(0.0, task["progress"] - shown))
                shown = task["progress"]
            time.sleep(poll_interval)
            task = self.get(task_id)
        if bar is not None:
            bar.update(max(0.0, 100.0 - shown))
            bar.close()
        return task

    def cancel(self, task_id: str) -> dict:
        return self._c.request("POST", self._c.w(f"/imports/{task_id}/cancel")).json()

    def undo(self, task_id: str) -> dict:
        return self._c.request("POST", self._c.w(f"/imports/{task_id}/undo")).json()


class _Collections:
    def __init__(self, client: Client):
        self._c = client

    def list(self) -> list[dict]:
        return list(self._c.pages(self._c.w("/collections")))

    def create(self, title: str, *, filters: Mapping | None = None, items: Iterable[str] | None = None,
               description: str = "", kind: str = "frozen") -> dict:
        """A collection from a filter (the JSON form) or from a list of item uids."""
        body: dict[str, Any] = {"title": title, "description": description, "kind": kind}
        if filters is not None:
            body["filter"] = dict(filters)
        if items is not None:
            body["items"] = [str(i) for i in items]
        return self._c.request("POST", self._c.w("/collections"), json=body).json()

    def add_items(self, collection_id: int, uids: Iterable[str]) -> dict:
        return self._c.request("POST", self._c.w(f"/collections/{int(collection_id)}/items"),
                               json={"items": [str(u) for u in uids]}).json()

    def remove_items(self, collection_id: int, uids: Iterable[str]) -> dict:
        return self._c.request("POST", self._c.w(f"/collections/{int(collection_id)}/items/remove"),
                               json={"items": [str(u) for u in uids]}).json()


def _progress(total: float, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, leave=False)
