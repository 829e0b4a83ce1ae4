from urllib.parse import urlsplit

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from metadata_site.lib.jsondiff import as_json, key_diff
from metadata_site.schemas.selectors import schema_current

from ..forms import BulkEditForm

register = template.Library()


@register.inclusion_tag("items/_bulk_edit_form.html", takes_context=True)
def bulk_edit_form(context, folder=None, total=None, hidden=None, form=None, next=None) -> dict:
    """The bulk edit form for a list of items. Items are selected with checkboxes anywhere on the page
    (`<input type="checkbox" name="item" value="<uid>" form="bulk-edit-form">`); `folder` adds an
    "all items in this folder" choice; `hidden` ((name, value) pairs) carries a selection made elsewhere
    (the explorer's); `form` is a bound form shown again with its errors; `next` is where Cancel leads (by
    default the page showing the form)."""
    workspace = context["workspace"]
    schema = form.schema if form is not None else schema_current(workspace=workspace)
    request = context.get("request")
    return {
        "workspace": workspace,
        "csrf_token": context.get("csrf_token"),
        "form": form if form is not None else BulkEditForm(schema=schema, auto_id="id_bulk_%s"),
        "schema": schema,
        "folder": folder,
        "total": total,
        "hidden": hidden or [],
        "next": next or (request.get_full_path() if request is not None and request.method == "GET" else ""),
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
def explorer_value(spec, value) -> str:
    """A metadata value as the explorer's grid and table show it: one tag a cell, instead of an included template
    (50 items of 7 fields: 350 includes a page, most of its rendering time)."""
    if value is None:
        return mark_safe('<span class="muted">—</span>')
    if spec.type == "link" and (url := http_url(value)):
        return format_html('<a href="{}" rel="noopener noreferrer nofollow">{}</a>', url, Truncator(value).chars(40))
    if spec.type == "datetime":
        return format_html('<time datetime="{}">{}</time>', value, value)
    if spec.is_multi:
        return format_html_join("", '<span class="chip">{}</span>', ((v,) for v in value))
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


@register.filter(name="as_json")
def as_json_filter(value) -> str:
    """A metadata value as JSON text (`true`, `{"dark": true}`), not Python's repr."""
    return as_json(value)


@register.simple_tag
def metadata_key_diff(before, after) -> list:
    """The per-key changes from `before` to `after` (`lib.jsondiff.key_diff`)."""
    return key_diff(before, after)


@register.simple_tag(takes_context=True)
def thumb_media(context, item, url: str | None = None) -> str:
    """An item's thumbnail in its box, as grids show it (`url`: its thumbnail URL when the view made them all at
    once). A tag rather than an included template: a grid of 50 included it 50 times, a tenth of the page's time."""
    if url is None:
        url = item_thumb_url(context, context["workspace"], item)
    status = item.media_status
    badge = ""
    if status == "error":
        badge = format_html('<span class="media-badge" role="status">{}</span>', item.media_error or "cannot read this file")
    return format_html(
        '<span class="media-box{}" data-status="{}"><img src="{}" alt="" loading="lazy" decoding="async" width="{}" '
        'height="{}">{}</span>',
        " media-pending" if status == "pending" else "", status, url, item.width or 160, item.height or 120, badge,
    )


@register.simple_tag(takes_context=True)
def item_thumb_url(context, workspace, item) -> str:
    """The item's thumbnail URL (versioned when the worker made one, so browsers keep it; ticketed for the viewer's
    session, so it is served without a database query)."""
    from metadata_site.media.selectors import item_thumbnail_url

    return item_thumbnail_url(slug=workspace.slug, item=item, request=context.get("request"))
