"""Data imports: new items (images, videos with their keyframes, image groups with their frames) from URLs,
with their metadata."""

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from metadata_site.items.models import ChangeSet, Item, ItemKind
from metadata_site.items.services import (
    MODE_MERGE,
    STATUS_CHANGED,
    NewItem,
    item_metadata_write,
    items_create_bulk,
    video_keyframes_sync,
)
from metadata_site.lib.bloom import StringBloom
from metadata_site.projects.models import Folder
from metadata_site.schemas.validation import (
    text_problem,
    validate_metadata,
)

from ..parsers import ImportFileError, Row, json_type_name
from .base import (
    CSV_DATA_COLUMNS,
    CSV_UNKNOWN_COLUMN,
    FRAMES_KEY,
    RECORD_KEYS,
    ROW_AMBIGUOUS_TITLE,
    ROW_BAD_TEXT,
    ROW_BAD_URL,
    ROW_CONFIG_NOT_VIDEO,
    ROW_FRAME,
    ROW_FRAMES_METADATA,
    ROW_FRAMES_NOT_A_LIST,
    ROW_FRAMES_NOT_VIDEO,
    ROW_KIND_MISMATCH,
    ROW_METADATA_NOT_AN_OBJECT,
    ROW_NO_KEY,
    ROW_NO_URL,
    ROW_NOT_AN_OBJECT,
    ROW_TITLE_TAKEN_MEANWHILE,
    ROW_TITLE_TOO_LONG,
    ROW_UNKNOWN_KEYS,
    Kind,
    Outcome,
    Prepared,
    clean_video_config,
    csv_metadata,
    distinct_runs,
    frames_metadata,
    is_http_url,
    reason_text,
    url_name,
)


@dataclass
class _Spec:
    index: int
    kind: str
    title: str
    url: str
    metadata: dict
    frames: list["_Spec"] = field(default_factory=list)
    frame_index: int | None = None
    config: dict | None = None  # a video's validated import config (None: none given)
    frame_metadata: dict[int, dict] = field(default_factory=dict)  # a video's `$frames`, by frame number


class DataImport(Kind):
    """Creates items in a folder from `{"images": [...], "videos": [...], "image_groups": [...]}` or a
    CSV `url,title,<fields>`; an item whose title already exists in the folder is updated instead."""

    json_shapes = ("sections",)
    sections = ("images", "videos", "image_groups")
    adds_items = True
    section_kinds = {"images": ItemKind.IMAGE, "videos": ItemKind.VIDEO, "image_groups": ItemKind.IMAGE_GROUP}
    section_names = {"images": "image", "videos": "video", "image_groups": "image group"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The titles this process created, when the folder had no top-level item at its first batch (else
        # False; None until then): see `_existing`.
        self._created: StringBloom | bool | None = None
        # Whether another import has created items in the folder since this one started (see `_lock_folder`).
        self._shared = False

    def check_columns(self, columns: list[str]) -> None:
        if "url" not in columns:
            raise ImportFileError(CSV_DATA_COLUMNS)
        self.is_csv = True
        self.columns = []
        for column in columns:
            if column in ("url", "title", "media_id", "kind"):
                continue
            if self.schema.get(column) is None:
                raise ImportFileError(CSV_UNKNOWN_COLUMN.format(column=column))
            self.columns.append(column)

    def _media(self, record: Any, *, what: str, kind: str, index: int, frame_index=None) -> _Spec | str:
        if not isinstance(record, dict):
            return ROW_NOT_AN_OBJECT.format(found=json_type_name(record))
        known = RECORD_KEYS[kind]
        unknown = [k for k in record if k not in known]
        if unknown:
            if "config" in unknown:
                return ROW_CONFIG_NOT_VIDEO
            return ROW_UNKNOWN_KEYS.format(
                s="s" if len(unknown) > 1 else "", keys=", ".join(map(repr, sorted(unknown))), what=what,
                expected=", ".join(known),
            )
        url = record.get("objectUrl") or ""
        if kind != ItemKind.IMAGE_GROUP:
            if not url:
                return ROW_NO_URL.format(what=what)
            if not is_http_url(str(url)):
                return ROW_BAD_URL.format(value=url)
        title = record.get("title") or (url_name(str(url)) if url else "")
        if not title:
            return ROW_NO_KEY
        if len(str(title)) > 500:
            return ROW_TITLE_TOO_LONG
        for key, text in (("title", str(title)), ("objectUrl", str(url))):
            problem = text_problem(text)
            if problem:
                return ROW_BAD_TEXT.format(key=key, problem=problem)
        metadata = record.get("clientMetadata", {})
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            return ROW_METADATA_NOT_AN_OBJECT.format(found=json_type_name(metadata))
        if kind == ItemKind.VIDEO and "keyframes" in record:
            metadata = {**metadata, "keyframes": record["keyframes"]}
        frame_metadata: dict[int, dict] = {}
        if FRAMES_KEY in metadata:
            if kind != ItemKind.VIDEO:
                return ROW_FRAMES_NOT_VIDEO
            found = frames_metadata(metadata[FRAMES_KEY])
            if isinstance(found, str):
                return found
            frame_metadata = found
            metadata = {k: v for k, v in metadata.items() if k != FRAMES_KEY}
            keyframes = metadata.get("keyframes", [])
            if isinstance(keyframes, list):  # a frame with metadata is a frame of interest (else: validation says)
                metadata["keyframes"] = keyframes + sorted(n for n in frame_metadata if n not in keyframes)
        config = None
        if "config" in record:
            config = clean_video_config(record["config"])
            if isinstance(config, str):
                return config
        return _Spec(index, kind, str(title), str(url), metadata, frame_index=frame_index, config=config,
                     frame_metadata=frame_metadata)

    def _spec(self, row: Row) -> _Spec | str:
        if self.is_csv:
            cells = row.value
            metadata, errors = csv_metadata(self.schema, cells, self.columns)
            if errors:
                return reason_text(errors)
            record = {"objectUrl": cells["url"].strip(), "title": cells.get("title", "").strip(), "clientMetadata": metadata}
            return self._media(record, what="row", kind=ItemKind.IMAGE, index=row.index)
        section, record, _ = row.value
        kind = self.section_kinds[section]
        spec = self._media(record, what=self.section_names[section], kind=kind, index=row.index)
        if isinstance(spec, str) or kind != ItemKind.IMAGE_GROUP:
            return spec
        frames = record.get("images", [])
        if not isinstance(frames, list):
            return ROW_FRAMES_NOT_A_LIST
        for position, frame in enumerate(frames):
            if isinstance(frame, dict) and not frame.get("title") and frame.get("objectUrl"):
                frame = {**frame, "title": f"{spec.title} #{position}"}
            child = self._media(frame, what="frame", kind=ItemKind.FRAME, index=row.index, frame_index=position)
            if isinstance(child, str):
                return ROW_FRAME.format(position=position, reason=child)
            spec.frames.append(child)
        return spec

    def _validate(self, spec: _Spec) -> str | None:
        normalised, errors = validate_metadata(self.schema, spec.metadata, partial=False, item_kind=spec.kind)
        if errors:
            return reason_text(errors)
        spec.metadata = normalised
        for frame in spec.frames:
            normalised, errors = validate_metadata(self.schema, frame.metadata, partial=False, item_kind=frame.kind)
            if errors:
                return ROW_FRAME.format(position=frame.frame_index, reason=reason_text(errors))
            frame.metadata = normalised
        for n, metadata in spec.frame_metadata.items():
            normalised, errors = validate_metadata(self.schema, metadata, partial=False, item_kind=ItemKind.FRAME)
            if errors:
                return ROW_FRAMES_METADATA.format(frame=n, reason=reason_text(errors))
            spec.frame_metadata[n] = normalised
        return None

    def prepare(self, rows: list[Row], *, write: bool) -> Prepared:
        prepared = Prepared(rows=rows)
        for row in rows:
            if row.error:
                prepared.errors.append((row.index, row.error))
                continue
            spec = self._spec(row)
            if isinstance(spec, str):
                prepared.errors.append((row.index, spec))
                continue
            error = self._validate(spec)
            if error:
                prepared.errors.append((row.index, error))
                continue
            prepared.ops.append(spec)
        return prepared

    def commit(self, prepared: Prepared, *, write: bool, change_set: ChangeSet | None) -> Outcome:
        outcome = Outcome(errors=list(prepared.errors))
        specs: list[_Spec] = prepared.ops
        if write:
            self._lock_folder()
        existing = self._existing({s.title for s in specs}, write=write)
        taken = self._taken_meanwhile(existing) if write and self._shared else set()
        good: list[_Spec] = []
        for spec in specs:
            hits = existing.get(spec.title, [])
            if hits and hits[0][0] in taken:
                outcome.errors.append((spec.index, ROW_TITLE_TAKEN_MEANWHILE.format(value=spec.title)))
            elif len(hits) > 1:
                outcome.errors.append(
                    (spec.index, ROW_AMBIGUOUS_TITLE.format(count=len(hits), value=spec.title, scope=self.scope.label))
                )
            elif hits and hits[0][1] != spec.kind:
                outcome.errors.append(
                    (spec.index, ROW_KIND_MISMATCH.format(value=spec.title, found=hits[0][1], expected=spec.kind))
                )
            else:
                good.append(spec)
        if not write:
            outcome.valid = len(good)
            outcome.errors.sort()
            return outcome
        with transaction.atomic():
            # The lookup above is still true inside the batch's transaction; each run adds what it creates.
            for run in distinct_runs(good, key=lambda s: s.title):
                self._write_run(run, outcome, change_set=change_set, existing=existing)
            if outcome.inserted and self._writer != self._me:
                Folder.objects.filter(pk=self.scope.folder.pk).update(item_writer=self._me)
                self._writer = self._me
        outcome.errors.sort()
        return outcome

    @property
    def _me(self) -> str:
        return str(self.task.uid)

    def _lock_folder(self) -> None:
        """Titles stay unique within a folder under concurrent imports: each batch's lookup and writes run
        under the folder's row lock (PostgreSQL ``FOR NO KEY UPDATE``, which item inserts' foreign-key checks
        do not wait for; SQLite's write transactions are serial anyway), so a lookup sees every title another
        import committed. The folder remembers which import last created items in it: seeing another one,
        this import stops trusting its Bloom filter (`_existing`) and checks each found title's age."""
        if not transaction.get_connection().in_atomic_block:
            raise AssertionError("a data import batch writes in a transaction")
        self._writer = (
            Folder.objects.select_for_update(no_key=True).values_list("item_writer", flat=True)
            .get(pk=self.scope.folder.pk)
        )
        if self._writer not in ("", self._me) and not self._shared:
            self._shared = True
            self._created = False

    def _taken_meanwhile(self, existing: dict[str, list[tuple[int, str]]]) -> set[int]:
        """The found items another import created after this one started (not pre-existing, not ours)."""
        pks = [hits[0][0] for hits in existing.values() if len(hits) == 1]
        if not pks or self.task.started_at is None:
            return set()
        own = self.task.created_ranges

        def ours(pk: int) -> bool:
            return any(low <= pk <= high for low, high in own)

        recent = Item.objects.filter(pk__in=pks, created_at__gte=self.task.started_at).values_list("pk", flat=True)
        return {pk for pk in recent if not ours(pk)}

    def _existing(self, titles: set[str], *, write: bool) -> dict[str, list[tuple[int, str]]]:
        """The folder's top-level items with these titles.

        A write into a folder that had no top-level item at this process's first batch looks up only the
        titles `_created` may hold: every other one cannot be in the folder, unless someone else adds it
        there during the import (the lookup below does not lock either). A resumed import finds its own
        earlier batches' items in the folder, so it looks every title up."""
        if write:
            if self._created is None:
                folder_empty = not Item.objects.filter(folder=self.scope.folder, parent__isnull=True).exists()
                self._created = StringBloom() if folder_empty else False
            if self._created:
                titles = {t for t in titles if t in self._created}
        return self.scope.by_title(list(titles), top_level=True)

    def _write_run(
        self, specs: list[_Spec], outcome: Outcome, *, change_set: ChangeSet | None,
        existing: dict[str, list[tuple[int, str]]],
    ) -> None:
        """Create the new items of a run of distinct titles (and their frames) and update the existing ones.
        `existing` maps the titles already in the folder to their items; the run's new items are added to it."""
        new = [s for s in specs if s.title not in existing]
        old = [s for s in specs if s.title in existing]
        folder_id = self.scope.folder.pk
        workspace = self.task.workspace
        created = items_create_bulk(
            workspace=workspace, folder_id=folder_id,
            items=[NewItem(s.title, s.kind, s.url, s.metadata) for s in new],
        )
        outcome.created_ids.extend(created)
        outcome.inserted += len(created)
        outcome.valid += len(specs)
        frames: list[NewItem] = []
        if self._created:
            self._created.update(s.title for s in new)
        videos: dict[int, dict | None] = {}  # new or configured videos -> their config given (None: none)
        for spec, pk in zip(new, created, strict=True):
            existing[spec.title] = [(pk, spec.kind)]
            frames.extend(self._frame_item(pk, f) for f in spec.frames)
            if spec.kind == ItemKind.VIDEO:
                videos[pk] = spec.config
        updates: dict[int, dict] = {}
        index_of: dict[int, int] = {}
        if old:
            old_pk = {s.title: existing[s.title][0][0] for s in old}
            present = {
                (parent, idx): pk
                for parent, idx, pk in Item.objects.filter(parent_id__in=old_pk.values()).values_list(
                    "parent_id", "frame_index", "pk"
                )
            }
            for spec in old:
                pk = old_pk[spec.title]
                updates[pk] = spec.metadata
                index_of[pk] = spec.index
                if spec.config is not None:
                    videos[pk] = spec.config
                for frame in spec.frames:
                    frame_pk = present.get((pk, frame.frame_index))
                    if frame_pk is None:
                        frames.append(self._frame_item(pk, frame))
                    else:
                        updates[frame_pk] = frame.metadata
                        index_of[frame_pk] = spec.index
        if frames:
            outcome.created_ids.extend(items_create_bulk(workspace=workspace, folder_id=folder_id, items=frames))
        if updates:
            result = item_metadata_write(
                workspace=workspace, user=self.user, updates=updates, mode=self.task.mode,
                source="import", change_set=change_set,
            )
            changed_rows = {index_of[row["item"]] for row in result.rows if row["status"] == STATUS_CHANGED}
            outcome.updated += len(changed_rows)
            outcome.unchanged += len(old) - len(changed_rows & {s.index for s in old})
        if videos:
            self._video_configs(videos)
        self._frames_metadata([(existing[s.title][0][0], s.frame_metadata) for s in specs if s.frame_metadata],
                              change_set=change_set)

    def _frames_metadata(self, videos: list[tuple[int, dict[int, dict]]], *, change_set: ChangeSet | None) -> None:
        """Write the videos' `$frames` metadata (merged) to their frame items, which exist by now: each frame of
        `$frames` was made a keyframe. Embedding values go to their own table like any metadata write's."""
        if not videos:
            return
        wanted = {pk: frames for pk, frames in videos}
        updates = {
            frame_pk: wanted[parent][index]
            for parent, index, frame_pk in Item.objects.filter(
                workspace=self.task.workspace, parent_id__in=list(wanted)
            ).values_list("parent_id", "frame_index", "pk")
            if index in wanted[parent]
        }
        if updates:
            item_metadata_write(workspace=self.task.workspace, user=self.user, updates=updates, mode=MODE_MERGE,
                                source="import", change_set=change_set, validated=True)

    def _video_configs(self, videos: dict[int, dict | None]) -> None:
        """Store the videos' import configs and create their keyframe items (see `video_keyframes_sync`)."""
        by_config: dict[str, list[int]] = {}
        for pk, config in videos.items():
            if config is not None:
                by_config.setdefault(json.dumps(config, sort_keys=True), []).append(pk)
        for text, pks in by_config.items():
            Item.objects.filter(workspace=self.task.workspace, pk__in=pks).update(video_config=json.loads(text))
        video_keyframes_sync(workspace=self.task.workspace, item_ids=list(videos))

    def _frame_item(self, parent_pk: int, frame: _Spec) -> NewItem:
        return NewItem(frame.title, ItemKind.FRAME, frame.url, frame.metadata, parent_pk, frame.frame_index)
