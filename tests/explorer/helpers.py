"""Shared by the explorer's tests: the database's answer checked against the reference evaluator's, and the data of
the typed projection's and its count store's tests (`test_projection.py`, `test_counts.py`; their `schema` and
`folder` fixtures are in conftest.py)."""

from collections.abc import Sequence

from django.db import connection

from metadata_site.explorer import projection
from metadata_site.explorer import query as fl
from metadata_site.items.models import Item
from tests.factories import make_item

# A field of every type the projection stores.
TYPED_FIELDS = [
    {"name": "weather", "type": "enum", "options": ["Sunny", "Rain", "50% fog"]},
    {"name": "temperature", "type": "float"},
    {"name": "count", "type": "integer"},
    {"name": "captured_at", "type": "datetime"},
    {"name": "camera", "type": "string"},
    {"name": "source", "type": "link"},
    {"name": "colors", "type": "enum", "options": ["red", "blue", "o'range"], "is_multi": True},
    {"name": "dark", "type": "boolean"},
]

# Documents with values of each field, and missing, unknown, wrong-typed and unparsable ones.
TYPED_METADATA = [
    {"weather": "Sunny", "temperature": 35.0, "count": 1, "dark": True, "captured_at": "2025-03-05T10:00:00Z",
     "colors": ["red", "blue"], "camera": "cam-004", "source": "https://example.com/1.jpg"},
    {"weather": "Sunny", "temperature": 5, "count": 3, "dark": False, "captured_at": "2024-01-05T10:00:00Z",
     "colors": [], "camera": "cam_1"},
    {"weather": "Rain", "temperature": 31.5, "camera": "CAM-004", "colors": ["o'range", 7, "green"],
     "captured_at": "2024-07-05T00:00:00.5Z"},
    {"weather": "50% fog", "dark": False, "count": 2, "temperature": -12.25},
    {"weather": "Snow", "temperature": "hot", "colors": "red", "dark": None, "camera": 4, "captured_at": "soon"},
    {},
]


def make_typed_items(folder, metadata: Sequence[dict] = TYPED_METADATA) -> list[Item]:
    """An item a document of `metadata` in `folder`, titled cold_<n>.jpg, or hot_<n>.jpg for an odd n."""
    return [make_item(folder, f"hot_{n}.jpg" if n % 2 else f"cold_{n}.jpg", metadata=md)
            for n, md in enumerate(metadata)]


def make_built_projection(workspace, schema, folder, metadata: Sequence[dict] = TYPED_METADATA) -> list[Item]:
    """The items of `metadata` (`make_typed_items`), then the workspace's typed projection built for `schema` (with
    its count store): PostgreSQL only."""
    items = make_typed_items(folder, metadata)
    assert projection.build(workspace_id=workspace.pk, schema=schema) == "built"
    return items


def table_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def assert_database_returns(expected: list[int], query: fl.Query, *, schema, workspace, page_size: int) -> None:
    """The database finds exactly `expected` (the reference's ids, in order): its count, on PostgreSQL the typed
    projection's count (built at the first call, then kept in step by its triggers), and keyset paging."""
    qs = fl.items_matching(query, schema=schema, workspace=workspace)
    assert qs.count() == len(expected)
    if connection.vendor == "postgresql":
        if projection.ProjectionCompiler.for_workspace(workspace, schema) is None:
            projection.build(workspace_id=workspace.pk, schema=schema)
        assert projection.ProjectionCompiler.for_workspace(workspace, schema).count(query) == len(expected)
    got, after = [], None
    for _ in range(len(expected) + 2):
        page = fl.page_items(qs, query, schema=schema, limit=page_size, after=after)
        got += [i.pk for i in page.items]
        after = page.next_cursor
        if after is None:
            break
    assert got == expected
