from django.db import connection

from metadata_site.explorer import projection
from metadata_site.explorer import query as fl


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
