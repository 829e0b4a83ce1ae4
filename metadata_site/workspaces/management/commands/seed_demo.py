"""Load demo data (idempotent), or a benchmark corpus with set-based inserts.

    manage.py seed_demo                                   # the demo workspace and the demo/demo login
    manage.py seed_demo --corpus items.jsonl --workspace bench   # a corpus printed by gen_metadata.py
"""

import json
import multiprocessing
import os
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path

import orjson
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from metadata_site.items.models import Item, ItemKind
from metadata_site.items.services import video_keyframes_sync
from metadata_site.lib import corpus, demo_scenes, fastjson
from metadata_site.media.services import item_attach_media, media_queue_new, media_store
from metadata_site.projects.models import Dataset, DatasetItem, Folder, Project
from metadata_site.projects.services import project_attach_dataset
from metadata_site.schemas.models import MetadataSchema
from metadata_site.schemas.signals import schema_changed
from metadata_site.workspaces.models import Membership, Role, Workspace

DEMO_ITEMS = 2400
DEMO_GROUPS = 4
DEMO_GROUP_FRAMES = 5
DEMO_VIDEOS = 3
VIDEO_FPS = 24
VIDEO_SECONDS = 4
VIDEO_FRAME_SECONDS = (1, 3)  # frame items under each video, at these seconds
WEATHER_LATER = ["Rain", "Fog", "Sunny", "Cloudy", "Snow"]
BATCH = 10_000

PROJECT_README = """# Road scenes

Street-level images from our fleet cameras, collected for **object detection** in all weathers.

## Annotation guidelines
1. Label every vehicle and pedestrian larger than 16 px.
2. Use `occluded` for objects more than half hidden.

| split | images |
|-------|--------|
| train | 1,600 |
| val   | 400 |
"""

PROJECT_CUSTOM_DATA = {
    "version": "1.0",
    "training": {"epochs": 100, "batch_size": 16, "learning_rate": 0.001},
    "model": {"architecture": "YOLOv8", "input_size": [640, 640]},
    "export": {"format": "COCO", "include_masks": True, "min_object_area": 100},
}


def _later(metadata: dict, n: int) -> dict:
    """A video's metadata at a later frame: the weather has changed."""
    return {**metadata, "weather": WEATHER_LATER[n % len(WEATHER_LATER)]}


def _media_url(metadata: dict) -> str:
    source = metadata.get("source")
    return source if isinstance(source, str) and len(source) <= 2000 else ""


def _uid_maker(ws: Workspace, first_media_id: str) -> Callable[[str], uuid.UUID]:
    """Item uids are global, and corpus ids are fixed: the first workspace to load a corpus keeps its ids as given,
    another one (a second demo or benchmark workspace) gets ids derived from them and its slug (uuid5), the same
    on every run."""
    if not Item.objects.filter(uid=uuid.UUID(first_media_id)).exclude(workspace=ws).exists():
        return uuid.UUID
    return lambda media_id: uuid.uuid5(uuid.UUID(media_id), ws.slug)


def _corpus_uid_maker(ws: Workspace, fh) -> Callable[[str], uuid.UUID]:
    """_uid_maker for a corpus file, decided by its first record (the file is left at its start)."""
    first = fh.readline()
    fh.seek(0)
    try:
        return _uid_maker(ws, json.loads(first)["media_id"])
    except (ValueError, KeyError, TypeError):
        return uuid.UUID  # the batch reports the bad line


class Command(BaseCommand):
    help = "Create the demo workspace and login (idempotent), or load a benchmark corpus (--corpus)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", default="demo", help="workspace slug (default: demo)")
        parser.add_argument("--corpus", type=Path, help="JSONL file printed by gen_metadata.py")
        parser.add_argument("--items", type=int, default=DEMO_ITEMS, help="demo items to generate")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")

    def handle(self, *args, workspace: str, corpus: Path | None, items: int, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates a demo/demo login; refusing with DEBUG off (pass --force).")
        user = self._demo_user()
        ws, created = Workspace.objects.get_or_create(slug=workspace, defaults={"name": workspace.title()})
        Membership.objects.update_or_create(user=user, workspace=ws, defaults={"role": Role.ADMIN})
        if corpus is not None:
            self._load_corpus(ws, corpus, user)
            return
        if Item.objects.filter(workspace=ws).exists():
            self.stdout.write(f"Workspace {ws.slug!r} already has data; nothing to do.")
            return
        self._demo(ws, user, items)

    def _demo_user(self):
        User = get_user_model()
        user, created = User.objects.get_or_create(username="demo", defaults={"email": "demo@example.com"})
        if created:
            user.set_password("demo")
            user.save()
        return user

    def _declare_schema(self, ws: Workspace, user) -> None:
        if not MetadataSchema.objects.filter(workspace=ws).exists():
            schema = MetadataSchema.objects.create(
                workspace=ws, version=1, fields=corpus.schema_fields(), created_by=user, note="corpus schema"
            )
            transaction.on_commit(lambda: schema_changed.send(sender=MetadataSchema, workspace=ws, schema=schema))

    def _demo(self, ws: Workspace, user, n: int) -> None:
        started = time.monotonic()
        self._declare_schema(ws, user)
        records = list(corpus.generate(n + 40))
        images, extra = records[:n], records[n:]
        jobs = [("jpeg", i, rec["metadata"]) for i, rec in enumerate(images)]
        for g in range(DEMO_GROUPS):
            jobs += [("jpeg", 100_000 + g * 10 + f, extra[g * 6 + f + 1]["metadata"]) for f in range(DEMO_GROUP_FRAMES)]
        for v in range(DEMO_VIDEOS):
            md = extra[30 + v]["metadata"]
            jobs.append(("video", 200_000 + v, md, VIDEO_SECONDS, VIDEO_FPS))
            jobs += [("jpeg", 300_000 + v * 10 + k, _later(md, v + k)) for k in range(len(VIDEO_FRAME_SECONDS))]
        # Rendered in child processes (spawned: they import the renderer alone, never this process's database
        # connection or threads) while this one stores what is ready, in the order of `jobs`.
        workers = max(1, min(os.cpu_count() or 1, 4))
        # The items are queued for the worker once stored, many per task (media_queue_new), not one task each.
        with (
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool,
            transaction.atomic(),
        ):
            stored = self._store(ws, images, extra, pool.map(demo_scenes.render_job, jobs, chunksize=16))
            media_queue_new(stored)
            self._projects(ws, user)
        self.stdout.write(self.style.SUCCESS(
            f"Demo workspace {ws.slug!r}: {Item.objects.filter(workspace=ws).count()} items with real pictures and "
            f"videos, rendered and stored in {time.monotonic() - started:.1f} s; the worker makes their thumbnails."
        ))

    def _store(self, ws: Workspace, images: list[dict], extra: list[dict], pictures: Iterator[bytes]) -> list[int]:
        """Every picture through the upload pipeline: stored by hash, attached to its item; returns the items' ids
        for the worker. `pictures` yields them in the order `_demo` listed them."""
        ids: list[int] = []
        root = Folder.objects.create(workspace=ws, name="fleet-cameras", description="All fleet camera uploads")
        years = {y: Folder.objects.create(workspace=ws, parent=root, name=y) for y in ("2024", "2025")}
        groups_folder = Folder.objects.create(workspace=ws, name="multi-view rigs")
        videos_folder = Folder.objects.create(workspace=ws, name="dashcam videos")
        for rec in images:
            folder = years[rec["metadata"]["captured_at"][:4]]
            blob = media_store(data=next(pictures), filename=rec["title"])
            ids.append(item_attach_media(workspace=ws, folder=folder, title=rec["title"], blob=blob,
                                         metadata=rec["metadata"], queue=False).pk)
        for g in range(DEMO_GROUPS):
            group = Item.objects.create(
                workspace=ws, folder=groups_folder, title=f"rig_{g + 1:03d}", kind=ItemKind.IMAGE_GROUP,
                client_metadata={"weather": extra[g * 6]["metadata"]["weather"], "camera": f"rig-{g + 1:02d}"},
            )
            for f in range(DEMO_GROUP_FRAMES):
                ids.append(self._frame(ws, groups_folder, group, f, f"rig_{g + 1:03d}_view_{f}.jpg", next(pictures),
                                       extra[g * 6 + f + 1]["metadata"]))
        videos: list[int] = []
        for v in range(DEMO_VIDEOS):
            md = extra[30 + v]["metadata"]
            title = f"drive_{v + 1:03d}.mp4"
            blob = media_store(data=next(pictures), filename=title)
            # Its stills are its keyframes (frames of interest), each an item with metadata of its own.
            keyframes = [second * VIDEO_FPS for second in VIDEO_FRAME_SECONDS]
            video = item_attach_media(workspace=ws, folder=videos_folder, title=title, blob=blob,
                                      metadata={**md, "keyframes": keyframes}, queue=False)
            ids.append(video.pk)
            videos.append(video.pk)
            for k, second in enumerate(VIDEO_FRAME_SECONDS):
                ids.append(self._frame(ws, videos_folder, video, second * VIDEO_FPS, f"drive_{v + 1:03d}_t{second}s.jpg",
                                       next(pictures), _later(md, v + k)))
        # The last one as imported with a sampling rate of 0: its first frame is an item too.
        Item.objects.filter(pk=videos[-1]).update(video_config={"sampling_rate": 0, "keyframe_mode": "frame"})
        video_keyframes_sync(workspace=ws, item_ids=videos)
        self._undeclared(ws)
        return ids

    def _frame(self, ws: Workspace, folder: Folder, parent: Item, index: int, title: str, data: bytes, md: dict) -> int:
        """A frame item (of an image group, or a still of a video at `index`) with its own picture; its id."""
        blob = media_store(data=data, filename=title)
        item = item_attach_media(workspace=ws, folder=folder, title=title, blob=blob, metadata=md, queue=False)
        Item.objects.filter(pk=item.pk).update(kind=ItemKind.FRAME, parent=parent, frame_index=index)
        return item.pk

    def _projects(self, ws: Workspace, user) -> None:
        now = timezone.now()
        roads = Project.objects.create(
            workspace=ws,
            name="Road scenes",
            description="Detection in all weathers",
            readme=PROJECT_README,
            custom_data=PROJECT_CUSTOM_DATA,
            updated_at=now,
            updated_by=user,
        )
        night = Project.objects.create(
            workspace=ws,
            name="Night driving",
            readme="# Night driving\n\nLow-light images only. See the `dark` field.",
            custom_data={"integration": {"mlflow_experiment_id": "exp_12345", "external_project_id": "proj_abc789"}},
            updated_at=now,
            updated_by=user,
        )
        items = list(Item.objects.filter(workspace=ws, kind=ItemKind.IMAGE).order_by("id"))
        specs = [
            (roads, "train", "Training split", items[:1600]),
            (roads, "val", "Validation split", items[1600:2000]),
            (night, "night-all", "Every dark image", [i for i in items if i.client_metadata.get("dark")][:500]),
        ]
        for project, name, description, members in specs:
            ds = Dataset.objects.create(
                workspace=ws,
                project=project,
                name=name,
                description=description,
                readme=f"# {name}\n\n{description}.",
                custom_data={"last_validation": {"date": "2024-03-15", "total_images": len(members)}},
                updated_at=now,
                updated_by=user,
            )
            DatasetItem.objects.bulk_create(
                [DatasetItem(workspace=ws, dataset=ds, item=i) for i in members], batch_size=1000
            )
        # A dataset can serve several projects: the night images are also part of the road scenes.
        project_attach_dataset(project=roads, dataset=Dataset.objects.get(workspace=ws, name="night-all"))
        self.stdout.write(self.style.SUCCESS(f"Demo workspace {ws.slug!r}: {Item.objects.filter(workspace=ws).count()} items."))

    def _undeclared(self, ws: Workspace) -> None:
        """Items whose metadata arrived before any schema: keys the explorer lists as "found in the data",
        filters as they are, and from which "Infer a schema" proposes group-id (enum), blur_score (float),
        lane_count (integer), reviewed_at (datetime) and tags (multi enum)."""
        incoming = Folder.objects.create(workspace=ws, name="incoming (no schema yet)")
        tag_sets = (["highway"], ["urban", "night"], ["urban"], [])
        Item.objects.bulk_create(
            [
                Item(
                    workspace=ws,
                    folder=incoming,
                    title=f"incoming_{n + 1:03d}.jpg",
                    kind=ItemKind.IMAGE,
                    client_metadata={
                        "group-id": "ABC"[n % 3],
                        "blur_score": round(0.05 * (n % 17), 2),
                        "lane_count": n % 4 + 1,
                        "reviewed_at": f"2025-04-{n % 28 + 1:02d}T09:30:00Z",
                        "tags": tag_sets[n % 4],
                    },
                )
                for n in range(24)
            ]
        )

    def _load_corpus(self, ws: Workspace, path: Path, user) -> None:
        if not path.exists():
            raise CommandError(f"No such corpus file: {path}")
        self._declare_schema(ws, user)
        folder, _ = Folder.objects.get_or_create(workspace=ws, parent=None, name=path.stem)
        started = time.monotonic()
        total = 0
        with path.open("rb") as fh:
            make_uid = _corpus_uid_maker(ws, fh)
            while True:
                lines = list(islice(fh, BATCH))
                if not lines:
                    break
                total += self._insert_batch(ws, folder, lines, start_line=total, make_uid=make_uid)
                self.stdout.write(f"\r{total:,} items", ending="")
                self.stdout.flush()
        elapsed = time.monotonic() - started
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Loaded {total:,} items into {ws.slug!r} in {elapsed:.1f} s"))

    @transaction.atomic
    def _insert_batch(
        self, ws: Workspace, folder: Folder, lines: list[bytes], *, start_line: int, make_uid: Callable
    ) -> int:
        now = timezone.now()
        records = []
        loads = orjson.loads  # half the time of json.loads a row (the client's parse is not overlapped by COPY)
        for offset, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                rec = loads(line)
                records.append((str(make_uid(rec["media_id"])), rec["title"], rec.get("metadata") or {}))
            except (ValueError, KeyError, TypeError) as exc:
                raise CommandError(f"line {start_line + offset + 1}: not a corpus record ({exc})") from None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                with cursor.copy(
                    "COPY items_item (workspace_id, folder_id, uid, title, kind, media_url, client_metadata,"
                    " created_at, updated_at) FROM STDIN"
                ) as copy:
                    write, dumps = copy.write_row, fastjson.dumps
                    for uid, title, md in records:
                        write((ws.pk, folder.pk, uid, title, "image", _media_url(md), dumps(md), now, now))
        else:
            Item.objects.bulk_create(
                [
                    Item(
                        workspace=ws,
                        folder=folder,
                        uid=uuid.UUID(uid),
                        title=title,
                        kind=ItemKind.IMAGE,
                        media_url=_media_url(md),
                        client_metadata=md,
                    )
                    for uid, title, md in records
                ],
                batch_size=2000,
            )
        return len(records)
