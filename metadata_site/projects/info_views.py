"""The Info tab of projects and datasets: README (with live preview), custom data (JSON editor), the project's
custom-data JSON Schema, and the history of all three (diff against the current value, restore).

Every view takes `owner` ("project" or "dataset") from its URL pattern. Saves answer an htmx request with the
re-rendered section (plus the history, out of band) and a plain form post with a redirect (or the whole page with
the errors), so the tab works without JavaScript.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from metadata_site.lib import strictjson
from metadata_site.lib.markdown import render_markdown
from metadata_site.lib.textdiff import unified_lines
from metadata_site.lib.userinput import parse_id
from metadata_site.workspaces.access import Access, get_access
from metadata_site.workspaces.models import Role

from . import services
from .forms import InfoTextForm, JSONTextForm, SchemaTextForm
from .models import Dataset, InfoKind, Project
from .selectors import info_first_versions, info_revision_value, info_revisions

SAVED = "{what} saved as version {version}."
RESTORED = "Restored {what} version {version} as version {new}."
NO_SCHEMA_TEXT = "(no schema)"

InfoObject = Project | Dataset


@dataclass(frozen=True)
class HistoryRow:
    kind: str
    label: str
    version: int
    created_by: Any
    created_at: datetime | None
    restored_from: int | None
    initial: bool
    diff_url: str
    restore_url: str


def _get_info_owner_for_user(
    request: HttpRequest, slug: str, pk: int, owner: str, *, role: str = Role.VIEWER
) -> tuple[Access, InfoObject]:
    access = get_access(request.user, slug, role=role)
    if owner == "project":
        return access, get_object_or_404(Project, workspace=access.workspace, pk=pk)
    return access, get_object_or_404(Dataset.objects.select_related("project"), workspace=access.workspace, pk=pk)


def _project_of(obj: InfoObject) -> Project:
    return obj if isinstance(obj, Project) else obj.project


def _value_text(kind: str, value: Any, *, sort_keys: bool = False) -> str:
    if kind == InfoKind.README:
        return value or ""
    if value is None:
        return NO_SCHEMA_TEXT
    return strictjson.dumps_pretty(value, sort_keys=sort_keys)


def _urls(slug: str, obj: InfoObject, owner: str) -> dict[str, str]:
    args = [slug, obj.pk]
    urls = {
        "page": reverse(f"projects:{owner}-info", args=args),
        "readme": reverse(f"projects:{owner}-info-readme", args=args),
        "readme_preview": reverse(f"projects:{owner}-info-readme-preview", args=args),
        "custom_data": reverse(f"projects:{owner}-info-custom-data", args=args),
    }
    project = _project_of(obj)
    urls["schema"] = reverse("projects:project-info-schema", args=[slug, project.pk])
    urls["project_info"] = reverse("projects:project-info", args=[slug, project.pk])
    return urls


def _history(slug: str, obj: InfoObject, owner: str) -> list[HistoryRow]:
    def row(kind, version, **extra) -> HistoryRow:
        args = [slug, obj.pk, kind, version]
        return HistoryRow(
            kind=kind,
            label=InfoKind(kind).label,
            version=version,
            diff_url=reverse(f"projects:{owner}-info-diff", args=args),
            restore_url=reverse(f"projects:{owner}-info-restore", args=args),
            **extra,
        )

    rows = [
        row(r.kind, r.version, created_by=r.created_by, created_at=r.created_at, restored_from=r.restored_from,
            initial=False)
        for r in info_revisions(obj)
    ]  # fmt: skip
    for kind, first in sorted(info_first_versions(obj).items()):
        if first.version > 1:
            rows.append(
                row(kind, first.version - 1, created_by=None, created_at=None, restored_from=None, initial=True)
            )
    return rows


def _last_changes(history: list[HistoryRow], obj: InfoObject, project: Project) -> dict[str, HistoryRow | None]:
    """Per kind, the History row of the version in force, so "version N · last change by …" says what History
    says (the object's `updated_by` is whoever last changed any part, and a silent save leaves it alone)."""
    current = {
        InfoKind.README: obj.readme_version,
        InfoKind.CUSTOM_DATA: obj.custom_data_version,
        InfoKind.CUSTOM_DATA_SCHEMA: project.custom_data_schema_version,
    }
    return {
        str(kind): next((r for r in history if r.kind == kind and r.version == version and not r.initial), None)
        for kind, version in current.items()
    }


def _info_ctx(request: HttpRequest, access: Access, obj: InfoObject, owner: str, **extra) -> dict:
    project = _project_of(obj)
    history = _history(access.workspace.slug, obj, owner)
    readme_html = mark_safe(render_markdown(obj.readme))  # noqa: S308 - nh3-sanitised
    ctx = {
        "workspace": access.workspace,
        "access": access,
        "can_write": access.can_write,
        "obj": obj,
        "owner": owner,
        "project": project,
        "dataset": obj if owner == "dataset" else None,
        "tab": "info",
        "urls": _urls(access.workspace.slug, obj, owner),
        "readme_html": readme_html,
        "readme_preview_html": readme_html,
        "readme_text": obj.readme,
        "readme_base": obj.readme_version,
        "custom_data_text": strictjson.dumps_pretty(obj.custom_data),
        "custom_data_base": obj.custom_data_version,
        "schema": project.custom_data_schema,
        "schema_text": strictjson.dumps_pretty(project.custom_data_schema)
        if project.custom_data_schema is not None
        else "",
        "schema_base": project.custom_data_schema_version,
        "history": history,
        "last_change": _last_changes(history, obj, project),
    }
    ctx.update(extra)
    return ctx


def _respond(
    request: HttpRequest, access: Access, obj: InfoObject, owner: str, section: str, *, status: int = 200, **extra
) -> HttpResponse:
    """The section alone for htmx (status 200, so htmx swaps it), else the whole page with `status`."""
    ctx = _info_ctx(request, access, obj, owner, **extra)
    if request.htmx:
        html = render_to_string(f"projects/info.html#{section}", ctx, request=request)
        if extra.get(f"{section}_saved") or extra.get(f"{section}_conflict"):  # the history changed
            html += render_to_string("projects/info.html#history", {**ctx, "history_oob": True}, request=request)
        return HttpResponse(html)
    return render(request, "projects/info.html", ctx, status=status)


def _saved(
    request: HttpRequest, access: Access, obj: InfoObject, owner: str, section: str, message: str
) -> HttpResponse:
    if request.htmx:
        return _respond(request, access, obj, owner, section, **{f"{section}_saved": message})
    messages.success(request, message)
    return HttpResponseRedirect(_urls(access.workspace.slug, obj, owner)["page"] + f"#info-{section.replace('_', '-')}")


def _submitted_base(request: HttpRequest, current: int) -> int:
    """The version the user's editor was based on: kept when a save is refused, so the next attempt is still
    checked against it (otherwise fixing a typo would silently overwrite a save made meanwhile)."""
    value = parse_id(request.POST.get("base_version", ""))
    return value if value is not None and value <= current else current


def _conflict(exc: services.InfoConflict) -> dict:
    return {
        "message": exc.message,
        "current_version": exc.current_version,
        "current_text": _value_text(exc.kind, exc.current_value),
        "saved_by": exc.saved_by,
        "saved_at": exc.saved_at,
    }


def _form_errors(form: InfoTextForm) -> list[dict]:
    error = getattr(form, "json_error", None)
    if error is not None:
        return [{"msg": error.message, "line": error.line, "column": error.column}]
    return [{"msg": f"{name}: {msg}" if name != "text" else msg} for name, errs in form.errors.items() for msg in errs]


def _data_errors(exc: services.CustomDataInvalid) -> list[dict]:
    out = []
    for error in exc.errors:
        where = f"{error['object']} “{error['name']}”" if "object" in error else ""
        out.append({"msg": error["msg"], "path": strictjson.format_path(error["loc"]), "where": where})
    return out


# --- pages ---------------------------------------------------------------------------------------------------


@login_required
@require_GET
def project_info(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, project = _get_info_owner_for_user(request, slug, pk, "project")
    return render(request, "projects/info.html", _info_ctx(request, access, project, "project"))


@login_required
@require_GET
def dataset_info(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, dataset = _get_info_owner_for_user(request, slug, pk, "dataset")
    return render(request, "projects/info.html", _info_ctx(request, access, dataset, "dataset"))


# --- README --------------------------------------------------------------------------------------------------


@login_required
@require_POST
def info_readme_preview(request: HttpRequest, slug: str, pk: int, owner: str) -> HttpResponse:
    _get_info_owner_for_user(request, slug, pk, owner, role=Role.EDITOR)
    return HttpResponse(render_markdown(request.POST.get("text", "")))


@login_required
@require_POST
def info_readme_save(request: HttpRequest, slug: str, pk: int, owner: str) -> HttpResponse:
    access, obj = _get_info_owner_for_user(request, slug, pk, owner, role=Role.EDITOR)
    form = InfoTextForm(request.POST)
    text = request.POST.get("text", "")
    again = {
        "readme_text": text,
        "readme_base": _submitted_base(request, obj.readme_version),
        "readme_open": True,
        "readme_preview_html": mark_safe(render_markdown(text)),  # noqa: S308 - nh3-sanitised
    }
    if not form.is_valid():
        return _respond(request, access, obj, owner, "readme", status=400, readme_errors=_form_errors(form), **again)
    try:
        revision = services.info_save_readme(
            obj=obj, text=form.cleaned_data["text"], user=request.user, base_version=form.base()
        )
    except services.InfoConflict as exc:
        return _respond(
            request, access, obj, owner, "readme", status=409, readme_conflict=_conflict(exc), **again,
        )  # fmt: skip
    except services.ReadmeInvalid as exc:
        return _respond(
            request, access, obj, owner, "readme", status=400, readme_errors=[{"msg": exc.message}], **again
        )
    return _saved(request, access, obj, owner, "readme", SAVED.format(what="README", version=revision.version))


# --- custom data and its schema ------------------------------------------------------------------------------


@login_required
@require_POST
def info_custom_data_save(request: HttpRequest, slug: str, pk: int, owner: str) -> HttpResponse:
    access, obj = _get_info_owner_for_user(request, slug, pk, owner, role=Role.EDITOR)
    form = JSONTextForm(request.POST)
    again = {
        "custom_data_text": request.POST.get("text", ""),
        "custom_data_base": _submitted_base(request, obj.custom_data_version),
    }
    if not form.is_valid():
        return _respond(
            request, access, obj, owner, "custom_data", status=400, custom_data_errors=_form_errors(form), **again
        )
    try:
        revision = services.info_save_custom_data(
            obj=obj, data=form.cleaned_data["text"], user=request.user, base_version=form.base()
        )
    except services.InfoConflict as exc:
        return _respond(
            request, access, obj, owner, "custom_data", status=409, custom_data_conflict=_conflict(exc), **again,
        )  # fmt: skip
    except services.CustomDataInvalid as exc:
        return _respond(
            request, access, obj, owner, "custom_data", status=400,
            custom_data_message=exc.message, custom_data_errors=_data_errors(exc), **again,
        )  # fmt: skip
    return _saved(
        request, access, obj, owner, "custom_data", SAVED.format(what="Custom data", version=revision.version)
    )


@login_required
@require_POST
def info_schema_save(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, project = _get_info_owner_for_user(request, slug, pk, "project", role=Role.EDITOR)
    form = SchemaTextForm(request.POST)
    again = {
        "schema_text": request.POST.get("text", ""),
        "schema_base": _submitted_base(request, project.custom_data_schema_version),
    }
    if not form.is_valid():
        return _respond(
            request, access, project, "project", "schema", status=400, schema_errors=_form_errors(form), **again
        )
    try:
        revision = services.info_save_custom_data_schema(
            project=project, schema=form.cleaned_data["text"], user=request.user, base_version=form.base()
        )
    except services.InfoConflict as exc:
        return _respond(
            request, access, project, "project", "schema", status=409, schema_conflict=_conflict(exc), **again,
        )  # fmt: skip
    except services.CustomDataInvalid as exc:
        return _respond(
            request, access, project, "project", "schema", status=400,
            schema_message=exc.message, schema_errors=_data_errors(exc), **again,
        )  # fmt: skip
    what = "Custom data schema" if project.custom_data_schema is not None else "Custom data schema (removed)"
    return _saved(request, access, project, "project", "schema", SAVED.format(what=what, version=revision.version))


# --- history -------------------------------------------------------------------------------------------------


def _check_kind(obj: InfoObject, kind: str) -> None:
    if kind not in InfoKind.values or (kind == InfoKind.CUSTOM_DATA_SCHEMA and not isinstance(obj, Project)):
        raise Http404("No such kind of info")


@login_required
@require_GET
def info_revision_diff(request: HttpRequest, slug: str, pk: int, owner: str, kind: str, version: int) -> HttpResponse:
    access, obj = _get_info_owner_for_user(request, slug, pk, owner)
    _check_kind(obj, kind)
    try:
        old = info_revision_value(obj, kind=kind, version=version)
    except LookupError:
        raise Http404("No such version") from None
    current_version = getattr(obj, f"{kind}_version")
    label = InfoKind(kind).label
    lines = unified_lines(
        _value_text(kind, old, sort_keys=True),
        _value_text(kind, getattr(obj, kind), sort_keys=True),
        old_label=f"{label} version {version}",
        new_label=f"{label} version {current_version} (current)",
    )
    ctx = _info_ctx(
        request, access, obj, owner,
        diff_kind=kind, diff_label=label, diff_version=version, diff_current_version=current_version,
        diff_lines=lines,
        diff_restore_url=reverse(f"projects:{owner}-info-restore", args=[slug, obj.pk, kind, version]),
    )  # fmt: skip
    template = "projects/info_diff.html#diff" if request.htmx else "projects/info_diff.html"
    return render(request, template, ctx)


@login_required
@require_POST
def info_revision_restore(
    request: HttpRequest, slug: str, pk: int, owner: str, kind: str, version: int
) -> HttpResponse:
    access, obj = _get_info_owner_for_user(request, slug, pk, owner, role=Role.EDITOR)
    _check_kind(obj, kind)
    label = InfoKind(kind).label
    try:
        revision = services.info_restore_revision(obj=obj, kind=kind, version=version, user=request.user)
    except services.CustomDataInvalid as exc:
        details = "; ".join(f"{strictjson.format_path(e['loc'])}: {e['msg']}" for e in exc.errors[:5])
        messages.error(request, f"{exc.message} {details}".strip())
    except services.InfoError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, RESTORED.format(what=label, version=version, new=revision.version))
    return HttpResponseRedirect(_urls(slug, obj, owner)["page"] + "#info-history")
