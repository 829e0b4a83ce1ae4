import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from metadata_site.workspaces.access import Access, get_access
from metadata_site.workspaces.models import Role

from .fields import FieldSpec, Schema
from .forms import FieldChangeForm, FieldDeclarationForm, SchemaImportForm
from .inference import infer_schema, proposed_declarations
from .models import FieldRename, MetadataSchema
from .selectors import schema_coverage, schema_current, schema_versions
from .services import (
    SchemaError,
    schema_change_field,
    schema_declare_field,
    schema_document,
    schema_drop_field,
    schema_import,
    schema_rename_field,
)

SCHEMA_CHANGED_SINCE_PREVIEW = "The schema changed since this preview (now version {version}): check the new preview."
FIELD_DECLARED = "Field “{name}” declared (schema version {version})."
FIELD_DROPPED = "Field “{name}” dropped (schema version {version}); items keep their values as undeclared keys."
SCHEMA_IMPORTED = "Schema imported as version {version}."
SCHEMA_UNCHANGED = "The imported schema is the same as the current one: nothing changed."
FIELD_CHANGED = "Field “{name}” changed (schema version {version})."
VALUES_CONVERTED = " {count} values converted; {failed} left as they were."


def _percent(count: int, total: int) -> str:
    """Rounded down to one decimal, so 2,423 of 2,427 reads 99.8%, never 100%."""
    if not total:
        return "0"
    tenths = (1000 * count) // total
    return f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"


def _ctx(access: Access, **extra) -> dict:
    return {"workspace": access.workspace, "access": access, **extra}


def _page_ctx(access: Access, **extra) -> dict:
    schema = schema_current(workspace=access.workspace)
    total, coverage = schema_coverage(workspace=access.workspace, schema=schema)
    rows = [{"spec": spec, "count": coverage[spec.name], "percent": _percent(coverage[spec.name], total)} for spec in schema]
    return _ctx(
        access,
        schema=schema,
        rows=rows,
        total=total,
        versions=schema_versions(workspace=access.workspace)[:50],
        declare_form=extra.pop("declare_form", None) or FieldDeclarationForm(),
        **extra,
    )


@login_required
@require_GET
def schema_page(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug)
    return render(request, "schemas/schema.html", _page_ctx(access))


@login_required
@require_POST
def schema_declare(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug, role=Role.EDITOR)
    form = FieldDeclarationForm(request.POST)
    if form.is_valid():
        try:
            row = schema_declare_field(workspace=access.workspace, user=request.user, field=form.declaration())
        except SchemaError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, FIELD_DECLARED.format(name=row.fields[-1]["name"], version=row.version))
            return redirect("schemas:schema", access.workspace.slug)
    return render(request, "schemas/schema.html", _page_ctx(access, declare_form=form), status=400)


@login_required
@require_POST
def schema_drop(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug, role=Role.EDITOR)
    name = request.POST.get("field", "")
    try:
        row = schema_drop_field(workspace=access.workspace, user=request.user, name=name)
    except SchemaError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, FIELD_DROPPED.format(name=name, version=row.version))
    return redirect("schemas:schema", access.workspace.slug)


def _applied_message(diff, base: str) -> str:
    converted = sum(c.conversion.converted for c in diff.changed if c.conversion)
    if converted or diff.failed_conversions:
        base += VALUES_CONVERTED.format(count=converted, failed=diff.failed_conversions)
    return base


@login_required
@require_http_methods(["GET", "POST"])
def schema_import_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Paste or upload a schema → a preview of what is added, changed and dropped → confirm."""
    access = get_access(request.user, slug, role=Role.EDITOR)
    current = schema_current(workspace=access.workspace)
    if request.method == "GET":
        return render(request, "schemas/import.html", _ctx(access, form=SchemaImportForm(), schema=current))
    form = SchemaImportForm(request.POST, request.FILES)
    ctx = _ctx(access, form=form, schema=current)
    if not form.is_valid():
        return render(request, "schemas/import.html", ctx, status=400)
    confirm = request.POST.get("confirm") == "1"
    if confirm and form.cleaned_data.get("base_version") != current.version:
        messages.warning(request, SCHEMA_CHANGED_SINCE_PREVIEW.format(version=current.version))
        confirm = False
    try:
        diff = schema_import(
            workspace=access.workspace, user=request.user, fields=form.cleaned_data["fields"], dry_run=not confirm,
            keep_descriptions=form.cleaned_data["keep_descriptions"],
        )
    except SchemaError as exc:
        ctx["errors"] = exc.errors or [{"index": "", "name": "", "msg": exc.message}]
        return render(request, "schemas/import.html", ctx, status=400)
    if diff.applied:
        messages.success(request, _applied_message(diff, SCHEMA_IMPORTED.format(version=diff.schema.version)))
        return redirect("schemas:schema", access.workspace.slug)
    if confirm:
        messages.info(request, SCHEMA_UNCHANGED)
        return redirect("schemas:schema", access.workspace.slug)
    ctx.update(diff=diff, text=form.cleaned_data["text"], keep_descriptions=form.cleaned_data["keep_descriptions"])
    return render(request, "schemas/import.html", ctx)


@login_required
@require_GET
def schema_download(request: HttpRequest, slug: str) -> HttpResponse:
    """The current schema as the JSON document the import reads (download it, edit it, import it back)."""
    access = get_access(request.user, slug)
    schema = schema_current(workspace=access.workspace)
    body = json.dumps(schema_document(schema), indent=2, ensure_ascii=False) + "\n"
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    filename = f"{access.workspace.slug}-schema-v{schema.version}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def schema_infer_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A schema proposed from the undeclared keys of a scope's items, previewed like an import; confirming
    it posts the proposal to the import page, which applies it as a new version."""
    from metadata_site.explorer.query import FilterError, parse_scope

    access = get_access(request.user, slug, role=Role.EDITOR)
    current = schema_current(workspace=access.workspace)
    try:
        scope = parse_scope(request.GET.get("scope"))
        inference = infer_schema(workspace=access.workspace, scope=scope, schema=current)
    except FilterError as err:
        return HttpResponse(str(err), status=400, content_type="text/plain")
    text = json.dumps(proposed_declarations(current, inference), indent=2, ensure_ascii=False)
    diff = schema_import(workspace=access.workspace, user=request.user, fields=json.loads(text), dry_run=True)
    ctx = _ctx(access, form=SchemaImportForm(initial={"document": text}), schema=current, diff=diff, text=text,
               inference=inference)
    return render(request, "schemas/import.html", ctx)


def _spec_or_404(schema: Schema, name: str) -> FieldSpec:
    spec = schema.get(name)
    if spec is None:
        raise Http404("No such field")
    return spec


@login_required
@require_http_methods(["GET", "POST"])
def schema_field_change(request: HttpRequest, slug: str) -> HttpResponse:
    """Change a field's type (or options, multiplicity, description, unit): a conversion report, then confirm."""
    access = get_access(request.user, slug, role=Role.EDITOR)
    current = schema_current(workspace=access.workspace)
    name = request.GET.get("field") or request.POST.get("field") or ""
    spec = _spec_or_404(current, name)
    if request.method == "GET":
        form = FieldChangeForm.for_spec(spec, current.version)
        return render(request, "schemas/field_change.html", _ctx(access, form=form, spec=spec, schema=current))
    form = FieldChangeForm(request.POST)
    ctx = _ctx(access, form=form, spec=spec, schema=current)
    if not form.is_valid():
        return render(request, "schemas/field_change.html", ctx, status=400)
    confirm = request.POST.get("confirm") == "1"
    if confirm and form.cleaned_data["base_version"] != current.version:
        messages.warning(request, SCHEMA_CHANGED_SINCE_PREVIEW.format(version=current.version))
        confirm = False
    declaration = {k: v for k, v in form.declaration().items() if k != "name"}
    try:
        diff = schema_change_field(
            workspace=access.workspace, user=request.user, name=name, field=declaration, dry_run=not confirm
        )
    except SchemaError as exc:
        form.add_error(None, exc.message)
        return render(request, "schemas/field_change.html", ctx, status=400)
    if diff.applied:
        message = FIELD_CHANGED.format(name=name, version=diff.schema.version)
        messages.success(request, _applied_message(diff, message))
        return redirect("schemas:schema", access.workspace.slug)
    if diff.is_empty:
        messages.info(request, SCHEMA_UNCHANGED)
        return redirect("schemas:schema", access.workspace.slug)
    form = FieldChangeForm(initial={**form.cleaned_data, "options": request.POST.get("options", "")})
    ctx.update(form=form, diff=diff, change=diff.changed[0], preview=True, posted=request.POST)
    return render(request, "schemas/field_change.html", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def schema_rename_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Rename a declared field: its values move in every item in the background (progress on the status page),
    in one change set whose undo moves them back."""
    access = get_access(request.user, slug, role=Role.EDITOR)
    current = schema_current(workspace=access.workspace)
    name = request.GET.get("field") or request.POST.get("field") or ""
    spec = _spec_or_404(current, name)
    ctx = _ctx(access, spec=spec, schema=current, new_name=request.POST.get("new_name", ""), error="")
    if request.method == "GET":
        return render(request, "schemas/rename.html", ctx)
    try:
        rename = schema_rename_field(workspace=access.workspace, user=request.user, name=name,
                                     new_name=request.POST.get("new_name", ""))
    except SchemaError as exc:
        ctx["error"] = exc.message
        return render(request, "schemas/rename.html", ctx, status=400)
    return redirect("schemas:rename-status", access.workspace.slug, rename.pk)


@login_required
@require_GET
def schema_rename_status(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A rename's progress (the htmx partial polls it until it has finished)."""
    access = get_access(request.user, slug)
    rename = get_object_or_404(FieldRename, workspace=access.workspace, pk=pk)
    template = "schemas/rename_status.html#progress" if request.htmx else "schemas/rename_status.html"
    return render(request, template, _ctx(access, rename=rename))


@login_required
@require_GET
def schema_version(request: HttpRequest, slug: str, version: int) -> HttpResponse:
    access = get_access(request.user, slug)
    row = get_object_or_404(MetadataSchema, workspace=access.workspace, version=version)
    specs = [FieldSpec.from_dict(d) for d in row.fields]
    current = schema_current(workspace=access.workspace)
    return render(
        request,
        "schemas/version.html",
        _ctx(access, row=row, specs=specs, current=current, versions=schema_versions(workspace=access.workspace)),
    )
