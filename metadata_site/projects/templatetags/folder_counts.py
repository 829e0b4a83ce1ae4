"""Folder and page counts as the pages show them: read up to FOLDER_COUNT_CAP (`projects.selectors`), and past it
"more than 100,000"."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

from .. import selectors

register = template.Library()


@register.filter
def past_count_cap(count: int) -> bool:
    return selectors.past_count_cap(count)


@register.filter
def capped_count(count: int) -> int | str:
    """`count` as it is, or "more than <the cap>" past it."""
    return f"more than {intcomma(selectors.FOLDER_COUNT_CAP)}" if selectors.past_count_cap(count) else count
