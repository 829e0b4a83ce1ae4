"""Scopes (folder, dataset, collection) and the items of a whole query: the workspace, the scope, the conditions.

`ScopeResolver` is the one resolver of scopes, live collections included: a live collection's items are its
saved filter's, within its saved scope, which may itself be a collection (followed; frozen or live). A cycle of
live collections adds nothing (a collection scoped to itself, directly or through others, matches no item), and
nesting deeper than `MAX_SCOPE_DEPTH` is refused with a FilterError.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

from metadata_site.items.models import Item
from metadata_site.schemas.fields import Schema

from .compiler import JsonCompiler
from .errors import MAX_SCOPE_DEPTH, SCOPE_NOT_FOUND, SCOPE_TOO_DEEP, FilterError
from .objects import Query, Scope
from .parsing import parse_json

# Matches no item (never NULL): what a cycle of live collections contributes. Unlike ``pk__in=[]`` it compiles
# to SQL, so the projection can embed it like any other scope.
NOTHING = Q(pk__isnull=True)


class ScopeResolver:
    """Resolves scopes of one workspace to a ``Q`` (raises FilterError, param ``scope``, for a missing object)."""

    def __init__(self, workspace: Any, schema: Schema, *, within: tuple[int, ...] = ()):
        self.workspace, self.schema = workspace, schema
        self.within = within  # the live collections being resolved, outermost first

    def q(self, scope: Scope) -> Q:
        if scope.kind == "workspace":
            return Q()
        return {"folder": self._folder, "dataset": self._dataset, "collection": self._collection}[scope.kind](scope.id)

    def _folder(self, pk: int) -> Q:
        from metadata_site.projects.models import Folder

        folder = Folder.objects.filter(workspace=self.workspace, pk=pk).first()
        if folder is None:
            raise FilterError(SCOPE_NOT_FOUND.format(kind="folder", id=pk), param="scope")
        return Q(folder_id__in=folder.descendant_ids(include_self=True))

    def _dataset(self, pk: int) -> Q:
        from metadata_site.projects.models import Dataset, DatasetItem

        if not Dataset.objects.filter(workspace=self.workspace, pk=pk).exists():
            raise FilterError(SCOPE_NOT_FOUND.format(kind="dataset", id=pk), param="scope")
        return Q(Exists(DatasetItem.objects.filter(item=OuterRef("pk"), dataset_id=pk)))

    def _collection(self, pk: int) -> Q:
        from metadata_site.collections.models import Collection, CollectionItem, CollectionKind

        collection = Collection.objects.filter(workspace=self.workspace, pk=pk).first()
        if collection is None:
            raise FilterError(SCOPE_NOT_FOUND.format(kind="collection", id=pk), param="scope")
        if collection.kind != CollectionKind.LIVE:
            return Q(Exists(CollectionItem.objects.filter(item=OuterRef("pk"), collection_id=pk)))
        if pk in self.within:
            return NOTHING
        if len(self.within) >= MAX_SCOPE_DEPTH:
            raise FilterError(SCOPE_TOO_DEEP.format(id=self.within[0], limit=MAX_SCOPE_DEPTH), param="scope")
        saved = parse_json(
            {k: v for k, v in (collection.filter or {}).items() if k in ("all", "any", "scope")}, schema=self.schema
        )
        inner = ScopeResolver(self.workspace, self.schema, within=(*self.within, pk))
        return inner.q(saved.scope) & JsonCompiler(self.schema).conditions(saved)


def scope_q(workspace: Any, scope: Scope, *, schema: Schema) -> Q:
    """The Q of a scope in `workspace` (nothing for the whole workspace)."""
    return ScopeResolver(workspace, schema).q(scope)


def filter_items(queryset: models.QuerySet, query: Query, *, schema: Schema, workspace: Any) -> models.QuerySet:
    """`queryset` narrowed to the workspace, the query's scope and its conditions (one SQL query)."""
    return queryset.filter(
        Q(workspace_id=workspace.pk) & scope_q(workspace, query.scope, schema=schema) & JsonCompiler(schema).conditions(query)
    )


def items_matching(query: Query, *, schema: Schema, workspace: Any) -> models.QuerySet:
    """All items (frames included) of `workspace` that match `query`, unordered."""
    return filter_items(Item.objects.all(), query, schema=schema, workspace=workspace)
