from urllib.parse import urlsplit

from django import template

from metadata_site.schemas.selectors import schema_current

from ..forms import BulkEditForm

register = template.Library()


@register.inclusion_tag("items/_bulk_edit_form.html", takes_context=True)
def bulk_edit_form(context, folder=None, total=None, hidden=None) -> dict:
    """The bulk edit form for a list of items. Items are selected with checkboxes anywhere on the page
    (`<input type="checkbox" name="item" value="<uid>" form="bulk-edit-form">`); `folder` adds an
    "all items in this folder" choice; `hidden` ((name, value) pairs) carries a selection made elsewhere
    (the explorer's)."""
    workspace = context["workspace"]
    schema = schema_current(workspace=workspace)
    return {
        "workspace": workspace,
        "csrf_token": context.get("csrf_token"),
        "form": BulkEditForm(schema=schema, auto_id="id_bulk_%s"),
        "schema": schema,
        "folder": folder,
        "total": total,
        "hidden": hidden or [],
    }


@register.filter
def http_url(value) -> str:
    """`value` if it is an http(s) URL, else "": stored URLs (media URLs, link values written before their
    field was declared) never become javascript: or data: links."""
    text = str(value or "").strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return ""
    return text if scheme in ("http", "https") else ""


@register.simple_tag
def item_thumb_url(workspace, item) -> str:
    """The item's thumbnail URL (versioned when the worker made one, so browsers keep it)."""
    from metadata_site.media.selectors import item_thumbnail_url

    return item_thumbnail_url(slug=workspace.slug, item=item)
