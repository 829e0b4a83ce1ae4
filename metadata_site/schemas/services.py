"""Writes of the metadata schema. Every change writes a new version (older versions stay viewable) and sends
`schema_changed` once the transaction commits.

Nothing is silently destroyed: dropping a field leaves its values on items (they become undeclared keys), and
a change of a field's type, options or multiplicity first reports which values do not convert; once
confirmed, the values that convert are rewritten (in one change set, so it can be undone) and the others are
left as they are.
"""

import difflib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction
from django.utils import timezone

from metadata_site.items.models import ChangeSet, Item
from metadata_site.items.services import (
    MODE_MERGE,
    OPERATION_RENAME,
    ChangeSetError,
    item_metadata_rename_key,
    item_metadata_write,
)
from metadata_site.lib.background import queue_work
from metadata_site.lib.errors import MessageError
from metadata_site.workspaces.models import Workspace

from .conversion import convert_value
from .declarations import FieldDeclarationError, clean_field_declaration, clean_field_name
from .fields import FieldSpec, Schema
from .models import FieldRename, FieldRenameStatus, MetadataSchema
from .selectors import schema_current
from .signals import schema_changed
from .validation import FieldValueError

SCHEMA_FIELD_EXISTS = "A field named {name!r} is already declared."
SCHEMA_FIELD_UNKNOWN = "No field named {name!r} is declared."
SCHEMA_RENAME_SAME = "The new name is the field's name already."
SCHEMA_RENAME_RUNNING = "The field {name!r} is being renamed to {new!r}; wait until that finishes."
SCHEMA_RENAME_UNDO_RUNNING = "The rename {old!r} → {new!r} is still moving values; undo it once it has finished."
SCHEMA_RENAME_UNDO_CHANGED = (
    "The field {new!r} is no longer declared as renamed from {old!r} (the schema changed since): "
    "rename it back by hand."
)
SCHEMA_FIELD_DUPLICATE = "The field {name!r} is declared more than once."
SCHEMA_DOCUMENT_SHAPE = 'A schema is a JSON list of field declarations, or an object with a "fields" list.'
SCHEMA_DOCUMENT_JSON = "The schema is not valid JSON: {error} (line {line}, column {column})."
SCHEMA_FIELD_ERROR = "Field {index} ({name}): {msg}"
SCHEMA_FIELD_KEY_UNKNOWN = "Unknown key {key!r}{hint}; a field declaration has the keys {known}."
SCHEMA_FIELD_KEY_HINT = " (did you mean {guess!r}?)"

# The keys of a field declaration in a schema document: ours (what `schema_document` writes), and Visual
# Layer's. Any other key is refused rather than ignored (a "multi": true that was silently dropped made a
# multi enum single).
DECLARATION_KEYS = ("name", "type", "options", "is_multi", "description", "unit", "dimension", "distance")
VISUAL_LAYER_KEYS = ("field_name", "field_type", "enum_options")

CONVERSION_SAMPLE_SIZE = 100
CONVERSION_BATCH_SIZE = 5000
_SHAPE_ATTRS = ("type", "options", "is_multi", "dimension", "distance")


class SchemaError(MessageError):
    """A schema change was refused. `errors` lists ``{"index", "name", "msg"}`` per bad field."""

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or []


@dataclass
class ConversionReport:
    """What a change of a field's type (or options, or multiplicity) does to the values items hold."""

    field: str
    holding: int = 0  # items with a value for the field
    fitting: int = 0  # values that already fit the new declaration as they are
    converted: int = 0  # values that convert to a different value
    failed: int = 0  # values that do not convert (left as they are)
    failed_items: list[dict] = field(default_factory=list)  # {"item", "uid", "title", "value", "msg"}, a sample
    updates: dict[int, dict] = field(default_factory=dict, repr=False)


@dataclass
class FieldChange:
    name: str
    before: FieldSpec
    after: FieldSpec
    changes: list[str]  # attribute names that differ: type, options, is_multi, description, unit
    conversion: ConversionReport | None = None


@dataclass
class SchemaDiff:
    added: list[FieldSpec] = field(default_factory=list)
    changed: list[FieldChange] = field(default_factory=list)
    dropped: list[FieldSpec] = field(default_factory=list)
    unchanged: list[FieldSpec] = field(default_factory=list)
    applied: bool = False
    schema: MetadataSchema | None = None  # the new version, once applied
    change_set: ChangeSet | None = None  # the conversions of existing values, once applied

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.changed or self.dropped)

    @property
    def failed_conversions(self) -> int:
        return sum(c.conversion.failed for c in self.changed if c.conversion)


# --- helpers ---------------------------------------------------------------------------------------


def _parse_fields(fields: list[Any]) -> list[FieldSpec]:
    specs: list[FieldSpec] = []
    errors: list[dict] = []
    seen: set[str] = set()
    for index, data in enumerate(fields, start=1):
        name = ""
        if isinstance(data, dict):
            name = str(data.get("name", data.get("field_name")) or "")
            unknown = [key for key in data if key not in (*DECLARATION_KEYS, *VISUAL_LAYER_KEYS)]
            if unknown:
                errors.append({"index": index, "name": name, "msg": _unknown_key_message(unknown[0])})
                continue
        try:
            spec = clean_field_declaration(data)
        except FieldDeclarationError as exc:
            errors.append({"index": index, "name": name, "msg": exc.message})
            continue
        if spec.name in seen:
            errors.append({"index": index, "name": spec.name, "msg": SCHEMA_FIELD_DUPLICATE.format(name=spec.name)})
            continue
        seen.add(spec.name)
        specs.append(spec)
    if errors:
        first = errors[0]
        raise SchemaError(
            SCHEMA_FIELD_ERROR.format(index=first["index"], name=first["name"] or "no name", msg=first["msg"]),
            errors,
        )
    return specs


def _unknown_key_message(key: Any) -> str:
    guesses = difflib.get_close_matches(str(key), DECLARATION_KEYS, n=1, cutoff=0.5)
    if not guesses and str(key).lower() in ("multi", "multiple", "is_multiple", "multivalued"):
        guesses = ["is_multi"]
    hint = SCHEMA_FIELD_KEY_HINT.format(guess=guesses[0]) if guesses else ""
    return SCHEMA_FIELD_KEY_UNKNOWN.format(key=str(key)[:100], hint=hint, known=", ".join(DECLARATION_KEYS))


def schema_document(schema: Schema) -> dict:
    """The schema as the document `schema_document_fields` and `schema_import` read back: importing it
    unchanged changes nothing."""
    return {"fields": [spec.to_dict() for spec in schema.all_fields()]}


def schema_document_fields(text: str) -> list[Any]:
    """The field list of a schema document (JSON text): a list, or an object with a "fields" list."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(SCHEMA_DOCUMENT_JSON.format(error=exc.msg, line=exc.lineno, column=exc.colno)) from None
    if isinstance(doc, dict) and isinstance(doc.get("fields"), list):
        doc = doc["fields"]
    if not isinstance(doc, list):
        raise SchemaError(SCHEMA_DOCUMENT_SHAPE)
    return doc


def _lock_workspace(workspace: Workspace) -> None:
    # Serialises schema writes of one workspace, so two writers never pick the same next version.
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()


def _new_version(*, workspace: Workspace, user, specs: list[FieldSpec], note: str) -> MetadataSchema:
    last = MetadataSchema.objects.filter(workspace=workspace).order_by("-version").values_list("version", flat=True)
    version = (last.first() or 0) + 1
    row = MetadataSchema.objects.create(
        workspace=workspace,
        version=version,
        fields=[s.to_dict() for s in specs],
        note=note[:200],
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    transaction.on_commit(lambda: schema_changed.send(sender=MetadataSchema, workspace=workspace, schema=row))
    return row


def _conversion_report(*, workspace: Workspace, after: FieldSpec) -> ConversionReport:
    report = ConversionReport(field=after.name)
    items = (
        Item.objects.filter(workspace=workspace, client_metadata__has_key=after.name)
        .order_by("id")
        .values_list("id", "uid", "title", "client_metadata")
    )
    for pk, uid, title, metadata in items.iterator(chunk_size=2000):
        value = metadata.get(after.name) if isinstance(metadata, dict) else None
        if value is None:
            continue
        report.holding += 1
        try:
            new = convert_value(after, value)
        except FieldValueError as exc:
            report.failed += 1
            if len(report.failed_items) < CONVERSION_SAMPLE_SIZE:
                report.failed_items.append(
                    {"item": pk, "uid": str(uid), "title": title, "value": value, "msg": exc.message}
                )
            continue
        if json.dumps(new, sort_keys=True) == json.dumps(value, sort_keys=True) and type(new) is type(value):
            report.fitting += 1
        else:
            report.converted += 1
            report.updates[pk] = {after.name: new}
    return report


def _diff(*, workspace: Workspace, current: Schema, specs: list[FieldSpec]) -> SchemaDiff:
    diff = SchemaDiff()
    new_names = {s.name for s in specs}
    for spec in specs:
        before = current.any_field(spec.name)
        if before is None:
            diff.added.append(spec)
            continue
        changes = [a for a in (*_SHAPE_ATTRS, "description", "unit") if getattr(before, a) != getattr(spec, a)]
        if not changes:
            diff.unchanged.append(spec)
            continue
        change = FieldChange(name=spec.name, before=before, after=spec, changes=changes)
        if any(a in _SHAPE_ATTRS for a in changes):
            change.conversion = _conversion_report(workspace=workspace, after=spec)
        diff.changed.append(change)
    diff.dropped = [s for s in current.all_fields() if s.name not in new_names]
    return diff


def _apply(*, workspace: Workspace, user, diff: SchemaDiff, specs: list[FieldSpec], note: str) -> SchemaDiff:
    diff.schema = _new_version(workspace=workspace, user=user, specs=specs, note=note)
    for change in diff.changed:
        if change.conversion is None or not change.conversion.updates:
            continue
        updates = list(change.conversion.updates.items())
        for start in range(0, len(updates), CONVERSION_BATCH_SIZE):
            result = item_metadata_write(
                workspace=workspace,
                user=user,
                updates=dict(updates[start : start + CONVERSION_BATCH_SIZE]),
                mode=MODE_MERGE,
                source=f"schema:v{diff.schema.version}",
                change_set=diff.change_set,
                operation="convert",
                description=f"Values converted for schema version {diff.schema.version}",
            )
            diff.change_set = result.change_set
    diff.applied = True
    return diff


def _note(diff: SchemaDiff) -> str:
    parts = []
    for label, names in (
        ("added", [s.name for s in diff.added]),
        ("changed", [c.name for c in diff.changed]),
        ("dropped", [s.name for s in diff.dropped]),
    ):
        if names:
            parts.append(f"{label} " + ", ".join(names))
    return "; ".join(parts).capitalize()


# --- services --------------------------------------------------------------------------------------


def schema_declare_field(*, workspace: Workspace, user, field: dict) -> MetadataSchema:
    """Add one field (our declaration shape or Visual Layer's) to the current schema, as a new version."""
    try:
        spec = clean_field_declaration(field)
    except FieldDeclarationError as exc:
        raise SchemaError(exc.message) from None
    with transaction.atomic():
        _lock_workspace(workspace)
        current = schema_current(workspace=workspace)
        if current.any_field(spec.name) is not None:
            raise SchemaError(SCHEMA_FIELD_EXISTS.format(name=spec.name))
        return _new_version(
            workspace=workspace, user=user, specs=[*current.all_fields(), spec], note=f"Declared field {spec.name}"
        )


def schema_drop_field(*, workspace: Workspace, user, name: str) -> MetadataSchema:
    """Remove one field from the schema, as a new version. Items keep their values (as undeclared keys)."""
    with transaction.atomic():
        _lock_workspace(workspace)
        current = schema_current(workspace=workspace)
        if current.any_field(name) is None:
            raise SchemaError(SCHEMA_FIELD_UNKNOWN.format(name=name))
        specs = [s for s in current.all_fields() if s.name != name]
        return _new_version(workspace=workspace, user=user, specs=specs, note=f"Dropped field {name}")


def schema_import(
    *, workspace: Workspace, user, fields: list[Any], dry_run: bool = True, keep_descriptions: bool = False
) -> SchemaDiff:
    """Compare a whole schema (a list of declarations) with the current one; unless `dry_run`, make it the
    current schema as a new version and convert the existing values of changed fields that convert.

    The diff lists added, changed (with a conversion report when the type, options or multiplicity changed)
    and dropped fields. Nothing is written when the schema is the same as the current one. A declaration with
    a key it does not know is refused. A field the document declares without a "description" key loses its
    description, unless `keep_descriptions`: then it keeps the current one.
    """
    if not isinstance(fields, list):
        raise SchemaError(SCHEMA_DOCUMENT_SHAPE)
    specs = _parse_fields(fields)
    with transaction.atomic():
        if not dry_run:
            _lock_workspace(workspace)
        current = schema_current(workspace=workspace)
        if keep_descriptions:
            specs = [_keep_description(spec, data, current) for spec, data in zip(specs, fields, strict=True)]
        diff = _diff(workspace=workspace, current=current, specs=specs)
        if dry_run or diff.is_empty:
            return diff
        return _apply(workspace=workspace, user=user, diff=diff, specs=specs, note=f"Imported: {_note(diff)}")


def _keep_description(spec: FieldSpec, declaration: dict, current: Schema) -> FieldSpec:
    before = current.any_field(spec.name)
    if before is None or declaration.get("description") is not None:
        return spec
    return replace(spec, description=before.description)


def schema_change_field(*, workspace: Workspace, user, name: str, field: dict, dry_run: bool = True) -> SchemaDiff:
    """Change one field's declaration (type, options, is_multi, description, unit; the name stays).

    With `dry_run` it only reports (`diff.changed[0].conversion`: how many values convert, which do not);
    otherwise it writes the new version and converts the values that convert, leaving the others as they are.
    """
    current = schema_current(workspace=workspace)
    if current.any_field(name) is None:
        raise SchemaError(SCHEMA_FIELD_UNKNOWN.format(name=name))
    declaration = {**field, "name": name}
    declaration.pop("field_name", None)
    try:
        spec = clean_field_declaration(declaration)
    except FieldDeclarationError as exc:
        raise SchemaError(exc.message) from None
    specs = [spec if s.name == name else s for s in current.all_fields()]
    with transaction.atomic():
        if not dry_run:
            _lock_workspace(workspace)
            current = schema_current(workspace=workspace)
        diff = _diff(workspace=workspace, current=current, specs=specs)
        if dry_run or diff.is_empty:
            return diff
        return _apply(workspace=workspace, user=user, diff=diff, specs=specs, note=f"Changed field {name}")


def schema_change_field_type(
    *, workspace: Workspace, user, name: str, type: str, options: list[str] | None = None,
    is_multi: bool = False, dry_run: bool = True,
) -> SchemaDiff:
    """`schema_change_field` for the common case of a new type (keeping description and unit)."""
    current = schema_current(workspace=workspace)
    spec = current.get(name)
    if spec is None:
        raise SchemaError(SCHEMA_FIELD_UNKNOWN.format(name=name))
    declaration = {**spec.to_dict(), "type": type, "options": options or [], "is_multi": is_multi}
    return schema_change_field(workspace=workspace, user=user, name=name, field=declaration, dry_run=dry_run)


# --- renaming a field --------------------------------------------------------------------------------

RENAME_BATCH_SIZE = 5000


def _renamed_filter(data: Any, old: str, new: str) -> Any:
    """A saved filter (the explorer's JSON form) with its conditions and sort on field `old` naming `new`."""
    from metadata_site.explorer.query import BUILTINS, META_PREFIX

    if not isinstance(data, dict):
        return data

    def name(field_name: str) -> str:
        if field_name == old or field_name == META_PREFIX + old and old in BUILTINS:
            return META_PREFIX + new if new in BUILTINS else new
        return field_name

    out = dict(data)
    for group in ("all", "any"):
        if isinstance(data.get(group), list):
            out[group] = [
                {**c, "field": name(c["field"])} if isinstance(c, dict) and isinstance(c.get("field"), str) else c
                for c in data[group]
            ]
    sort = data.get("sort")
    if isinstance(sort, str) and sort:
        descending = sort.startswith("-")
        out["sort"] = ("-" if descending else "") + name(sort[1:] if descending else sort)
    return out


def _rename_in_saved_filters(*, workspace: Workspace, old: str, new: str) -> int:
    """Rewrite the collections' saved filters (live collections evaluate theirs) to the new field name."""
    from metadata_site.collections.models import Collection

    changed = 0
    for collection in Collection.objects.select_for_update().filter(workspace=workspace).exclude(filter={}):
        renamed = _renamed_filter(collection.filter, old, new)
        if renamed != collection.filter:
            Collection.objects.filter(pk=collection.pk).update(filter=renamed)
            changed += 1
    return changed


def _renamed_specs(current: Schema, old: str, new: str) -> list[FieldSpec]:
    return [replace(spec, name=new) if spec.name == old else spec for spec in current.all_fields()]


def schema_rename_field(*, workspace: Workspace, user, name: str, new_name: str) -> FieldRename:
    """Rename a declared field. At once, in one transaction: a new schema version with the field under its new
    name, the collections' saved filters rewritten, an (empty) change set and the `FieldRename` status row; then
    a background task moves every item's value (`field_rename_run`). Undoing the change set moves the values
    back and renames the field back."""
    try:
        new_name = clean_field_name(new_name)
    except FieldDeclarationError as exc:
        raise SchemaError(exc.message) from None
    with transaction.atomic():
        _lock_workspace(workspace)
        current = schema_current(workspace=workspace)
        if current.get(name) is None:
            raise SchemaError(SCHEMA_FIELD_UNKNOWN.format(name=name))
        if new_name == name:
            raise SchemaError(SCHEMA_RENAME_SAME)
        if current.any_field(new_name) is not None:
            raise SchemaError(SCHEMA_FIELD_EXISTS.format(name=new_name))
        running = FieldRename.objects.filter(workspace=workspace, status=FieldRenameStatus.RUNNING).first()
        if running is not None:
            raise SchemaError(SCHEMA_RENAME_RUNNING.format(name=running.old_name, new=running.new_name))
        _new_version(workspace=workspace, user=user, specs=_renamed_specs(current, name, new_name),
                     note=f"Renamed field {name} to {new_name}")
        _rename_in_saved_filters(workspace=workspace, old=name, new=new_name)
        change_set = ChangeSet.objects.create(
            workspace=workspace, user=user if getattr(user, "is_authenticated", False) else None,
            operation=OPERATION_RENAME, description=f"Renamed field {name} to {new_name}"[:500], source="schema",
        )
        rename = FieldRename.objects.create(
            workspace=workspace, old_name=name, new_name=new_name, change_set=change_set,
            total=Item.objects.filter(workspace=workspace, client_metadata__has_key=name).count(),
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        # The database backend makes the task visible to the worker when this transaction commits.
        queue_work(rename)
    return rename


def field_rename_run(*, rename: FieldRename) -> FieldRename:
    """Move the values of a rename, batch by batch from its `last_id` (so a second run after a crash goes on
    where the last committed batch stopped and moves nothing twice). Each batch is one transaction that writes
    the items, their change-set entries and the progress."""
    while True:
        with transaction.atomic():
            row = FieldRename.objects.select_for_update().select_related("workspace", "change_set").get(pk=rename.pk)
            if row.is_finished:
                return row
            ids = list(
                Item.objects.filter(workspace=row.workspace, id__gt=row.last_id, client_metadata__has_key=row.old_name)
                .order_by("id").values_list("id", flat=True)[:RENAME_BATCH_SIZE]
            )
            if not ids:
                row.status, row.finished_at = FieldRenameStatus.COMPLETED, timezone.now()
                row.save(update_fields=["status", "finished_at"])
                return row
            moved = item_metadata_rename_key(
                workspace=row.workspace, change_set=row.change_set, item_ids=ids, old=row.old_name, new=row.new_name
            )
            row.last_id, row.done, row.heartbeat_at = ids[-1], row.done + moved, timezone.now()
            row.started_at = row.started_at or row.heartbeat_at
            row.save(update_fields=["last_id", "done", "heartbeat_at", "started_at"])


def field_rename_revert(*, change_set: ChangeSet, user) -> None:
    """Called for a rename's change set by `change_set_undo` (through `receivers.revert_rename`), in its
    transaction: the field and the saved filters get their old name back (the undo itself moves the values back)."""
    rename = FieldRename.objects.select_for_update().filter(change_set=change_set).first()
    if rename is None:
        return
    if not rename.is_finished:
        raise ChangeSetError(SCHEMA_RENAME_UNDO_RUNNING.format(old=rename.old_name, new=rename.new_name))
    workspace = change_set.workspace
    _lock_workspace(workspace)
    current = schema_current(workspace=workspace)
    if current.get(rename.new_name) is None or current.get(rename.old_name) is not None:
        raise ChangeSetError(SCHEMA_RENAME_UNDO_CHANGED.format(old=rename.old_name, new=rename.new_name))
    _new_version(workspace=workspace, user=user, specs=_renamed_specs(current, rename.new_name, rename.old_name),
                 note=f"Undo: renamed field {rename.new_name} back to {rename.old_name}")
    _rename_in_saved_filters(workspace=workspace, old=rename.new_name, new=rename.old_name)

