"""The workspace's metadata schema: current version, versions, declare a field, import a whole schema."""

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from metadata_site.explorer.query import FilterError, parse_scope
from metadata_site.schemas.models import FieldRename, MetadataSchema
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.services import (
    SCHEMA_FIELD_UNKNOWN,
    SchemaError,
    schema_declare_field,
    schema_import,
    schema_rename_field,
)

from ..access import read_access, write_access
from ..errors import ApiError, responses
from ..paging import CursorPage
from ..schemas import FieldIn, FieldRenameIn, SchemaDiffOut, SchemaImportIn, SchemaOut, SchemaVersionPage

router = Router(tags=["schema"])


def _schema_error(exc: SchemaError) -> ApiError:
    errors = [{"loc": ["body", "fields", e.get("index", 0) - 1, e.get("name") or ""], "msg": e["msg"]}
              for e in exc.errors] or [{"loc": ["body"], "msg": exc.message}]
    return ApiError(422, exc.message, errors)


def _current(workspace) -> dict:
    schema = schema_current(workspace=workspace)
    return {"version": schema.version, "fields": [spec.to_dict() for spec in schema.all_fields()]}


@router.get("/w/{slug}/schema", response=responses(SchemaOut))
def schema_get(request: HttpRequest, slug: str):
    """The current schema: its version and declared fields (version 0 when nothing is declared)."""
    return _current(read_access(request, slug).workspace)


def _scope(raw: str | None):
    try:
        return parse_scope(raw)
    except FilterError as exc:
        raise ApiError(400, str(exc), [{"loc": ["query", "scope"], "msg": str(exc)}]) from None


@router.get("/w/{slug}/schema/undeclared", response=responses(dict))
def schema_undeclared_keys(request: HttpRequest, slug: str, scope: str | None = None):
    """Keys of the scope's items that no field declares, with their JSON types and how many items hold each
    (filter them as `f=<key>:<op>:<value>`). Reads the scope's first 5,000 items: `exact` says whether that
    was all of them (else the counts are lower bounds)."""
    from metadata_site.explorer.selectors import undeclared_keys

    access = read_access(request, slug)
    schema = schema_current(workspace=access.workspace)
    try:
        found = undeclared_keys(_scope(scope), schema=schema, workspace=access.workspace)
    except FilterError as exc:
        raise ApiError(400, str(exc), [{"loc": ["query", exc.param], "msg": str(exc)}]) from None
    return {
        "sampled": found.sampled, "exact": found.exact, "truncated": found.truncated,
        "keys": [{"name": k.name, "count": k.count, "types": k.types, "operators": list(k.ops)} for k in found.keys],
    }


@router.get("/w/{slug}/schema/inferred", response=responses(dict))
def schema_inferred(request: HttpRequest, slug: str, scope: str | None = None):
    """A schema proposed from the scope's undeclared keys: `fields` is the whole proposed schema (PUT it to
    /schema to apply it as a new version), `inferred` the added declarations, `skipped` why other keys got none."""
    from metadata_site.schemas.inference import infer_schema, proposed_declarations

    access = read_access(request, slug)
    schema = schema_current(workspace=access.workspace)
    try:
        inference = infer_schema(workspace=access.workspace, scope=_scope(scope), schema=schema)
    except FilterError as exc:
        raise ApiError(400, str(exc), [{"loc": ["query", exc.param], "msg": str(exc)}]) from None
    return {
        "version": schema.version, "sampled": inference.sampled, "exact": inference.exact,
        "fields": proposed_declarations(schema, inference),
        "inferred": [spec.to_dict() for spec in inference.fields], "skipped": inference.skipped,
    }


def _schema_version(r: MetadataSchema) -> dict:
    return {"version": r.version, "note": r.note, "created_at": r.created_at,
            "created_by": r.created_by.username if r.created_by_id else None, "fields": r.fields}


@router.get("/w/{slug}/schema/versions", response=responses(SchemaVersionPage))
@paginate(CursorPage, keyset=False, row=_schema_version)
def schema_versions(request: HttpRequest, slug: str):
    """Every version, newest first."""
    access = read_access(request, slug)
    return MetadataSchema.objects.filter(workspace=access.workspace).select_related("created_by").order_by("-version")


@router.post("/w/{slug}/schema/fields", response=responses(SchemaOut, status=201))
def schema_field_declare(request: HttpRequest, slug: str, payload: FieldIn):
    """Declare one field; the schema gets a new version."""
    access = write_access(request, slug)
    field = payload.dict(exclude_none=True)
    try:
        schema_declare_field(workspace=access.workspace, user=request.auth, field=field)
    except SchemaError as exc:
        raise ApiError(422, exc.message, [{"loc": ["body"], "msg": exc.message}]) from None
    return Status(201, _current(access.workspace))


def _rename_out(rename) -> dict:
    return {"id": rename.pk, "old_name": rename.old_name, "new_name": rename.new_name, "status": rename.status,
            "total": rename.total, "done": rename.done, "progress": rename.progress,
            "change_set": rename.change_set_id, "error": rename.failure_reason}


@router.post("/w/{slug}/schema/fields/{name}/rename", response=responses(dict, status=202))
def schema_field_rename(request: HttpRequest, slug: str, name: str, payload: FieldRenameIn):
    """Rename a declared field: a new schema version (and collections' saved filters) at once, then the values
    move in every item in the background; poll `/schema/renames/{id}`. Undo its `change_set` to move them back."""
    access = write_access(request, slug)
    if schema_current(workspace=access.workspace).get(name) is None:
        message = SCHEMA_FIELD_UNKNOWN.format(name=name)
        raise ApiError(404, message, [{"loc": ["path", "name"], "msg": message}])
    try:
        rename = schema_rename_field(workspace=access.workspace, user=request.auth, name=name,
                                     new_name=payload.new_name)
    except SchemaError as exc:
        raise ApiError(422, exc.message, [{"loc": ["body", "new_name"], "msg": exc.message}]) from None
    rename.refresh_from_db()
    return Status(202, _rename_out(rename))


@router.get("/w/{slug}/schema/renames/{int:rename_id}", response=responses(dict))
def schema_rename_status(request: HttpRequest, slug: str, rename_id: int):
    """A rename's progress."""
    access = read_access(request, slug)
    rename = FieldRename.objects.filter(workspace=access.workspace, pk=rename_id).first()
    if rename is None:
        raise ApiError(404, "No such rename in this workspace.", [{"loc": ["path", "rename_id"], "msg": "not found"}])
    return _rename_out(rename)


@router.put("/w/{slug}/schema", response=responses(SchemaDiffOut))
def schema_put(request: HttpRequest, slug: str, payload: SchemaImportIn, dry_run: bool = False,
               keep_descriptions: bool = False):
    """Import a whole schema: it replaces the current one as a new version (with `dry_run`, only the diff).
    Values of fields whose type changed are converted where they convert. A declaration with a key it does not
    know is refused (422); a field declared without "description" loses it unless `keep_descriptions`."""
    access = write_access(request, slug)
    try:
        diff = schema_import(workspace=access.workspace, user=request.auth, fields=payload.fields, dry_run=dry_run,
                             keep_descriptions=keep_descriptions)
    except SchemaError as exc:
        raise _schema_error(exc) from None
    return {
        "applied": diff.applied,
        "version": diff.schema.version if diff.schema else schema_current(workspace=access.workspace).version,
        "added": [s.name for s in diff.added],
        "changed": [
            {"name": c.name, "changes": c.changes,
             "converted": c.conversion.converted if c.conversion else 0,
             "failed": c.conversion.failed if c.conversion else 0}
            for c in diff.changed
        ],
        "dropped": [s.name for s in diff.dropped],
        "change_set": diff.change_set.pk if diff.change_set else None,
    }
