"""Writes of projects and datasets: the Info tab (README, custom data, the project's custom-data JSON Schema) and
which projects a dataset is attached to.

Every save locks the row, checks the caller's `base_version` (optimistic concurrency: a save on top of a newer
save is refused with `InfoConflict`, never a silent overwrite), writes an `InfoRevision` with the new and the
previous value, and bumps `<kind>_version`. `base_version=None` saves unconditionally (the Supervisely protocol
has no versions) and still records a revision. `silent=True` leaves `updated_at`/`updated_by` exactly as they were.

Lock order is always project, then dataset: a dataset's custom data is checked against its project's schema
while the project row is locked, so a schema change and a dataset save cannot interleave.
"""

from typing import Any

import jsonschema
import referencing.exceptions
from django.db import transaction
from django.utils import timezone

from metadata_site.lib import safeschema, strictjson
from metadata_site.lib.errors import MessageError

from .models import Dataset, InfoKind, InfoRevision, Project, ProjectDataset
from .selectors import info_owner_filter, info_revision_value

INFO_CONFLICT = (
    "Someone saved a newer version of this {what} (version {current}) after you loaded version {base}. "
    "Your changes were not saved: review the newer value, then save again."
)
CUSTOM_DATA_FAILS_SCHEMA = "The custom data does not satisfy the project's custom data schema."
SCHEMA_NOT_A_SCHEMA = "This is not a valid JSON Schema."
SCHEMA_CANNOT_BE_APPLIED = "The schema cannot be applied: {detail}"
SCHEMA_REJECTS_EXISTING = "Existing custom data does not satisfy this schema; fix it first or relax the schema."
README_TOO_LARGE = "The README is {size:,} bytes; at most {limit:,} bytes (1 MB) are allowed."
README_NUL = "The README contains a NUL character, which cannot be stored."
UNKNOWN_KIND = "Unknown kind {kind!r}: expected one of readme, custom_data, custom_data_schema."
SCHEMA_ONLY_ON_PROJECTS = "Only projects have a custom data schema."
NO_SUCH_VERSION = "There is no version {version} of this {what}."

README_MAX_BYTES = 1_048_576
MAX_ERRORS = 50

InfoObject = Project | Dataset

_WHAT = {
    InfoKind.README: "README",
    InfoKind.CUSTOM_DATA: "custom data",
    InfoKind.CUSTOM_DATA_SCHEMA: "custom data schema",
}


class InfoError(MessageError):
    """Base of the Info tab's refusals; `message` is shown to the user."""


class InfoConflict(InfoError):
    """`base_version` is not the current version. Carries the current value and version, who saved it and when
    (None when the current value predates revisions, e.g. demo data)."""

    def __init__(self, *, kind: str, base_version: int, current_value: Any, current_version: int, saved_by, saved_at):
        super().__init__(INFO_CONFLICT.format(what=_WHAT[kind], current=current_version, base=base_version))
        self.kind = kind
        self.base_version = base_version
        self.current_value = current_value
        self.current_version = current_version
        self.saved_by = saved_by
        self.saved_at = saved_at


class CustomDataInvalid(InfoError):
    """The value breaks a rule. `errors` is a list of {"loc": [JSON path parts], "msg": str}; schema refusals of
    existing data also carry "object" ("project" / "dataset"), "id" and "name"."""

    def __init__(self, message: str, errors: list[dict]) -> None:
        super().__init__(message)
        self.errors = errors


class CustomDataSchemaInvalid(CustomDataInvalid):
    """The schema itself is not a valid JSON Schema (or cannot be applied)."""


class SchemaRejectsExistingData(CustomDataInvalid):
    """The new schema would make existing custom data of the project or its datasets invalid."""


class ReadmeInvalid(InfoError):
    pass


# --- validation ----------------------------------------------------------------------------------------------


def _check_json(value: Any) -> None:
    try:
        strictjson.check_value(value)
    except strictjson.StrictJSONError as exc:
        raise CustomDataInvalid(exc.message, [{"loc": exc.path or [], "msg": exc.message}]) from None


def schema_errors(schema: dict, data: Any) -> list[dict]:
    """Errors of `data` against `schema`, each {"loc": [...], "msg": ...}, ordered by path, at most MAX_ERRORS."""
    try:
        safeschema.check_dialect(schema)
        errors = sorted(safeschema.validator(schema).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    except safeschema.SchemaProblem as exc:  # stored before the save-time checks: refused cleanly, never misapplied
        message = SCHEMA_CANNOT_BE_APPLIED.format(detail=exc.message)
        raise CustomDataSchemaInvalid(message, [{"loc": exc.path, "msg": message}]) from None
    except referencing.exceptions.Unresolvable as exc:
        # A schema stored before references were checked at save time: still nothing is fetched.
        message = SCHEMA_CANNOT_BE_APPLIED.format(detail=safeschema.EXTERNAL_REF.format(ref=exc.ref))
        raise CustomDataSchemaInvalid(message, [{"loc": [], "msg": message}]) from None
    except jsonschema.exceptions.SchemaError as exc:
        message = SCHEMA_CANNOT_BE_APPLIED.format(detail=exc)
        raise CustomDataSchemaInvalid(message, [{"loc": [], "msg": message}]) from None
    return [{"loc": list(e.absolute_path), "msg": e.message} for e in errors[:MAX_ERRORS]]


def _check_against_schema(schema: dict | None, data: dict) -> None:
    if schema is None:
        return
    errors = schema_errors(schema, data)
    if errors:
        raise CustomDataInvalid(CUSTOM_DATA_FAILS_SCHEMA, errors)


def _check_schema(schema: dict) -> None:
    try:
        strictjson.check_value(schema)
    except strictjson.StrictJSONError as exc:
        raise CustomDataSchemaInvalid(exc.message, [{"loc": exc.path or [], "msg": exc.message}]) from None
    try:
        safeschema.SafeValidator.check_schema(schema)
        safeschema.check(schema)
    except safeschema.SchemaProblem as exc:
        raise CustomDataSchemaInvalid(exc.message, [{"loc": exc.path, "msg": exc.message}]) from None
    except jsonschema.exceptions.SchemaError as exc:
        # check_schema already raises the most relevant error (jsonschema's best_match).
        raise CustomDataSchemaInvalid(
            SCHEMA_NOT_A_SCHEMA, [{"loc": list(exc.absolute_path), "msg": exc.message}]
        ) from None


def _check_readme(text: str) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > README_MAX_BYTES:
        raise ReadmeInvalid(README_TOO_LARGE.format(size=size, limit=README_MAX_BYTES))
    if "\x00" in text:
        raise ReadmeInvalid(README_NUL)


# --- the save path -------------------------------------------------------------------------------------------


def _last_revision(obj: InfoObject, kind: str) -> InfoRevision | None:
    return (
        InfoRevision.objects.filter(**info_owner_filter(obj), kind=kind)
        .select_related("created_by")
        .order_by("-version")
        .first()
    )


def _lock(obj: InfoObject) -> tuple[Project, Dataset | None]:
    """Lock the project (and the dataset) rows, project first, and return fresh copies."""
    project_id = obj.pk if isinstance(obj, Project) else obj.project_id
    project = Project.objects.select_for_update().get(pk=project_id)
    if isinstance(obj, Project):
        return project, None
    return project, Dataset.objects.select_for_update().get(pk=obj.pk)


def _save(
    *,
    obj: InfoObject,
    kind: str,
    value: Any,
    user,
    base_version: int | None,
    silent: bool = False,
    restored_from: int | None = None,
) -> InfoRevision:
    project, dataset = _lock(obj)
    row: InfoObject = dataset if dataset is not None else project
    version_field = f"{kind}_version"
    current_version = getattr(row, version_field)
    if base_version is not None and base_version != current_version:
        last = _last_revision(row, kind)
        raise InfoConflict(
            kind=kind,
            base_version=base_version,
            current_value=getattr(row, kind),
            current_version=current_version,
            saved_by=last.created_by if last and last.version == current_version else None,
            saved_at=last.created_at if last and last.version == current_version else None,
        )
    if kind == InfoKind.CUSTOM_DATA:
        _check_against_schema(project.custom_data_schema, value)
    elif kind == InfoKind.CUSTOM_DATA_SCHEMA and value is not None:
        _check_existing_data(project, value)

    previous = getattr(row, kind)
    new_version = current_version + 1
    changes: dict[str, Any] = {kind: value, version_field: new_version}
    if not silent:
        changes["updated_at"] = timezone.now()
        changes["updated_by"] = user if user is not None and user.is_authenticated else None
    type(row).objects.filter(pk=row.pk).update(**changes)
    for name, new in changes.items():
        setattr(obj, name, new)
    return InfoRevision.objects.create(
        workspace_id=row.workspace_id,
        **info_owner_filter(row),
        kind=kind,
        version=new_version,
        value=value,
        previous=previous,
        restored_from=restored_from,
        created_by=user if user is not None and user.is_authenticated else None,
    )


def _check_existing_data(project: Project, schema: dict) -> None:
    failures: list[dict] = []
    targets: list[tuple[str, InfoObject]] = [("project", project)]
    targets += [("dataset", ds) for ds in Dataset.objects.filter(project=project).order_by("name")]
    for label, target in targets:
        for error in schema_errors(schema, target.custom_data):
            failures.append({"object": label, "id": target.pk, "name": target.name, **error})
            if len(failures) >= MAX_ERRORS:
                raise SchemaRejectsExistingData(SCHEMA_REJECTS_EXISTING, failures)
    if failures:
        raise SchemaRejectsExistingData(SCHEMA_REJECTS_EXISTING, failures)


# --- public services -----------------------------------------------------------------------------------------


@transaction.atomic
def info_save_custom_data(
    *, obj: InfoObject, data: dict, user, base_version: int | None, silent: bool = False
) -> InfoRevision:
    """Replace the custom data of a project or dataset (whole, never merged)."""
    _check_json(data)
    return _save(obj=obj, kind=InfoKind.CUSTOM_DATA, value=data, user=user, base_version=base_version, silent=silent)


@transaction.atomic
def info_save_readme(
    *, obj: InfoObject, text: str, user, base_version: int | None, silent: bool = False
) -> InfoRevision:
    """Replace the README (Markdown source) of a project or dataset."""
    _check_readme(text)
    return _save(obj=obj, kind=InfoKind.README, value=text, user=user, base_version=base_version, silent=silent)


@transaction.atomic
def info_save_custom_data_schema(
    *, project: Project, schema: dict | None, user, base_version: int | None
) -> InfoRevision:
    """Set (or, with None, remove) the JSON Schema that custom data of the project and its datasets must satisfy.
    Refused when existing custom data would fail it (the list names each object and JSON path)."""
    if schema is not None:
        _check_schema(schema)
    return _save(obj=project, kind=InfoKind.CUSTOM_DATA_SCHEMA, value=schema, user=user, base_version=base_version)


@transaction.atomic
def info_restore_revision(*, obj: InfoObject, kind: str, version: int, user) -> InfoRevision:
    """Make the value of `version` current again; the restore is itself a new revision. The value before the
    first revision (version first-1) is restorable too, from that revision's `previous`."""
    if kind not in InfoKind.values:
        raise InfoError(UNKNOWN_KIND.format(kind=kind))
    if kind == InfoKind.CUSTOM_DATA_SCHEMA and not isinstance(obj, Project):
        raise InfoError(SCHEMA_ONLY_ON_PROJECTS)
    try:
        value = info_revision_value(obj, kind=kind, version=version)
    except LookupError:
        raise InfoError(NO_SUCH_VERSION.format(version=version, what=_WHAT[kind])) from None
    if kind == InfoKind.CUSTOM_DATA:
        _check_json(value)
    elif kind == InfoKind.CUSTOM_DATA_SCHEMA and value is not None:
        _check_schema(value)
    elif kind == InfoKind.README:
        value = value or ""
    return _save(obj=obj, kind=kind, value=value, user=user, base_version=None, restored_from=version)


# --- datasets in several projects ---------------------------------------------------------------------------

DATASET_OTHER_WORKSPACE = "The dataset and the project belong to different workspaces."
DATASET_HOME_PROJECT = (
    "{project!r} is the home project of the dataset {dataset!r}: it cannot be detached from it (delete the dataset "
    "instead)."
)


class ProjectDatasetError(MessageError):
    """A dataset cannot be attached to or detached from a project; `message` says why."""


@transaction.atomic
def project_attach_dataset(*, project: Project, dataset: Dataset) -> bool:
    """Attach `dataset` to `project` as well (a dataset can belong to several projects). True when it was not
    attached yet."""
    if project.workspace_id != dataset.workspace_id:
        raise ProjectDatasetError(DATASET_OTHER_WORKSPACE)
    _link, created = ProjectDataset.objects.get_or_create(
        workspace_id=project.workspace_id, project=project, dataset=dataset
    )
    return created


@transaction.atomic
def project_detach_dataset(*, project: Project, dataset: Dataset) -> bool:
    """Detach `dataset` from `project`; the dataset stays (in its home project, which it cannot leave). True when
    it was attached."""
    if dataset.project_id == project.pk:
        raise ProjectDatasetError(DATASET_HOME_PROJECT.format(project=project.name, dataset=dataset.name))
    deleted, _ = ProjectDataset.objects.filter(project=project, dataset=dataset).delete()
    return deleted > 0
