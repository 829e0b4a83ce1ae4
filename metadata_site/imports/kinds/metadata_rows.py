"""Metadata rows (matched by media id or by title) and field values (one field, a value per item)."""


from django.db import connection

from metadata_site.items.models import ChangeSet
from metadata_site.items.services import (
    item_metadata_patch,
)
from metadata_site.lib import fastjson
from metadata_site.schemas.validation import (
    KEYFRAMES,
    FieldValueError,
    validate_metadata,
)

from ..models import ImportMode
from ..parsers import ImportFileError, Row, json_type_name
from .base import (
    CSV_FIELD_VALUES_COLUMNS,
    CSV_NO_ID_COLUMN,
    CSV_UNKNOWN_COLUMN,
    ROW_METADATA_NOT_AN_OBJECT,
    ROW_NO_ITEM_UID,
    ROW_NO_KEY,
    ROW_NO_VALUE,
    ROW_NOT_AN_OBJECT,
    Kind,
    Op,
    Outcome,
    Prepared,
    csv_cell,
    csv_metadata,
    reason_text,
)


class MetadataRows(Kind):
    """`{"<uid>": {...}}`, a JSON array / JSONL of `{"media_id" | "title", "metadata"}`, or CSV with a
    media_id or title column and one column per declared field."""

    json_shapes = ("array", "object")
    ignored_columns = ("url", "kind")

    def check_columns(self, columns: list[str]) -> None:
        if "media_id" not in columns and "title" not in columns:
            raise ImportFileError(CSV_NO_ID_COLUMN)
        self.is_csv = True
        self.columns = []
        for column in columns:
            if column in ("media_id", "title", *self.ignored_columns):
                continue
            if self.schema.get(column) is None:
                raise ImportFileError(CSV_UNKNOWN_COLUMN.format(column=column))
            self.columns.append(column)

    def _op(self, row: Row) -> Op | str:
        op = Op(index=row.index, metadata={})
        value = row.value
        if isinstance(value, tuple):  # a member of {"<uid>": {...}}
            key, metadata = value
            error = self._parse_key({"media_id": key}, op)
            if error:
                return error
            if not isinstance(metadata, dict):
                return ROW_METADATA_NOT_AN_OBJECT.format(found=json_type_name(metadata))
            op.metadata = metadata
            return op
        if not isinstance(value, dict):
            return ROW_NOT_AN_OBJECT.format(found=json_type_name(value))
        error = self._parse_key(value, op)
        if error:
            return error
        if self.is_csv:
            metadata, errors = csv_metadata(self.schema, value, self.columns)
            if errors:
                return reason_text(errors)
            op.metadata = metadata
            return op
        metadata = value.get("metadata", {})
        if not isinstance(metadata, dict):
            return ROW_METADATA_NOT_AN_OBJECT.format(found=json_type_name(metadata))
        op.metadata = metadata
        return op

    def prepare(self, rows: list[Row], *, write: bool) -> Prepared:
        prepared = Prepared(rows=rows)
        for row in rows:
            if row.error:
                prepared.errors.append((row.index, row.error))
                continue
            op = self._op(row)
            if isinstance(op, str):
                prepared.errors.append((row.index, op))
            else:
                prepared.ops.append(op)
        if write:
            self._prevalidate(prepared)
            if prepared.validated and self.set_based:
                self._prepare_patches(prepared)
        return prepared

    def _prevalidate(self, prepared: Prepared) -> None:
        """Validate the ops' metadata here (the read-ahead thread) rather than in the write. Left to the write
        when an op sets keyframes, whose check needs the item's kind."""
        if any(KEYFRAMES in op.metadata for op in prepared.ops):
            return
        for op in prepared.ops:
            normalised, errors = validate_metadata(self.schema, op.metadata, partial=self.partial)
            if errors:
                prepared.invalid[op.index] = reason_text(errors)
            op.metadata = normalised
        prepared.validated = True

    @property
    def set_based(self) -> bool:
        return connection.vendor == "postgresql"

    def _prepare_patches(self, prepared: Prepared) -> None:
        """Write each validated op as a patch document for `item_metadata_patch`. Left to the general path
        (``patches`` stays None) when an op is matched by title, or when the schema has an embedding field (its
        vectors leave the document in `item_metadata_write`, see `items.embeddings`)."""
        if any(op.uid is None for op in prepared.ops) or self.schema.embeddings:
            return
        dumps = fastjson.dumps
        runs: list[list[str]] = [[]]
        seen: set[str] = set()
        for op in prepared.ops:
            uid = str(op.uid)
            if uid in seen:  # the same item again: a new run, so both rows apply in order
                runs.append([])
                seen = set()
            seen.add(uid)
            if op.index in prepared.invalid:
                runs[-1].append(f'{{"i":{op.index},"u":"{uid}","x":true}}')
                continue
            normalised = op.metadata
            removed = [k for k, v in normalised.items() if v is None]
            if removed:
                normalised = {k: v for k, v in normalised.items() if v is not None}
                extra = ',"r":' + dumps(removed)
            else:
                extra = ""
            patch = dumps(normalised)
            runs[-1].append(f'{{"i":{op.index},"u":"{uid}","p":{patch}{extra}}}')
        prepared.patches = runs

    def commit(self, prepared: Prepared, *, write: bool, change_set: ChangeSet | None) -> Outcome:
        outcome = Outcome(errors=list(prepared.errors))
        if prepared.patches is not None and write:
            self._commit_patches(prepared, outcome, change_set=change_set)
        else:
            matched = self._resolve(prepared.ops, outcome)
            if prepared.invalid:
                outcome.errors.extend((op.index, prepared.invalid[op.index]) for op in matched if op.index in prepared.invalid)
                matched = [op for op in matched if op.index not in prepared.invalid]
            self._check_or_write(matched, outcome, write=write, change_set=change_set, validated=prepared.validated)
        outcome.errors.sort()
        return outcome

    def _commit_patches(self, prepared: Prepared, outcome: Outcome, *, change_set: ChangeSet | None) -> None:
        scope = self.scope
        folder_ids = sorted(scope.folder_ids) if scope.folder_ids is not None else None
        uid_of = {op.index: op.uid for op in prepared.ops}
        missing: set[int] = set()
        for run in prepared.patches:
            result = item_metadata_patch(
                workspace=self.task.workspace, change_set=change_set, patches=run, merge=self.partial,
                folder_ids=folder_ids, dataset_id=scope.dataset.pk if scope.dataset is not None else None,
            )
            missing.update(result.missing)
            outcome.valid += result.matched
            outcome.updated += result.changed
            outcome.unchanged += result.matched - result.changed
        # As on the general path, a row whose item is not there says so before it says what else is wrong.
        for index in missing:
            outcome.errors.append((index, ROW_NO_ITEM_UID.format(value=uid_of[index], scope=scope.label)))
        outcome.errors.extend((index, reason) for index, reason in prepared.invalid.items() if index not in missing)


class FieldValues(MetadataRows):
    """One field per task: `[{"media_id", "value"}]` (JSON, JSONL) or CSV `media_id,value`."""

    json_shapes = ("array",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.spec = self.schema.get(self.task.target.get("field", ""))
        self.partial = True

    def check_columns(self, columns: list[str]) -> None:
        if "media_id" not in columns or "value" not in columns:
            raise ImportFileError(CSV_FIELD_VALUES_COLUMNS.format(columns=", ".join(columns)))
        self.is_csv = True
        self.columns = columns

    def _op(self, row: Row) -> Op | str:
        value = row.value
        if not isinstance(value, dict):
            return ROW_NOT_AN_OBJECT.format(found=json_type_name(value))
        op = Op(index=row.index, metadata={})
        if value.get("media_id") in (None, ""):
            return ROW_NO_KEY
        error = self._parse_key(value, op)
        if error:
            return error
        if "value" not in value:
            return ROW_NO_VALUE
        cell = value["value"]
        if self.is_csv:
            if not cell.strip():
                return ROW_NO_VALUE
            try:
                cell = csv_cell(self.spec, cell)
            except FieldValueError as exc:
                return reason_text([{"key": self.spec.name, "msg": exc.message, "value": cell}])
            if cell is None:
                return ROW_NO_VALUE
        op.metadata = {self.spec.name: cell}
        return op

    def _check_or_write(self, ops, outcome, *, write, change_set, validated=False):
        # Always a merge of the one field, whatever the task's mode.
        mode = self.task.mode
        self.task.mode = ImportMode.MERGE
        try:
            super()._check_or_write(ops, outcome, write=write, change_set=change_set, validated=validated)
        finally:
            self.task.mode = mode
