"""`{% collection_tags items as tags %}`: the collections of a page of items, fetched at once.

Then `{% for c in tags|tags_of:item %}<span class="chip tag">{{ c.title }}</span>{% endfor %}`.
"""

from django import template

from metadata_site.collections.selectors import collection_tags_for_items, filter_state_as_params

register = template.Library()


@register.simple_tag
def collection_tags(items) -> dict:
    """Items, or explorer rows (dicts with an "item"), → {item id: [collections]}."""
    rows = [row["item"] if isinstance(row, dict) else row for row in items]
    if not rows:
        return {}
    return collection_tags_for_items(workspace_id=rows[0].workspace_id, item_ids=[i.pk for i in rows])


@register.filter
def tags_of(tags: dict, item) -> list:
    return tags.get(item.pk, []) if tags else []


@register.filter
def explorer_params(filter_state: dict | None) -> str:
    """The explorer query string of a stored filter state."""
    return filter_state_as_params(filter_state)
