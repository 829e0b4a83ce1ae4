"""The permission matrix: every URL of the site → the methods it accepts → who may use them.

`tests/security/test_permission_matrix.py` walks Django's URL resolver (and django-ninja's operations under
/api/) and checks every (URL, method) against this table for five callers: anonymous, a stranger (admin of
another workspace), and a viewer, an editor and an admin of workspace "acme". A URL missing here fails the
suite: add an entry with the methods the view accepts and the level each one needs.

Expected statuses per level (`expected()`):

- anonymous: a redirect to the login page for pages and partials; 401 for the API and vendor SDK routes.
- stranger: 404 for everything inside a workspace (never a hint that it exists).
- a member below the level: 403.
- a caller at or above the level: "success" — for GET the `ok` statuses of the entry (200 unless said
  otherwise); for a write method any answer that shows the request got past the access check: 2xx, a
  redirect, or 400/409/422 (the matrix sends an empty or minimal body, so a validation error is a pass).
"""

from dataclasses import dataclass, field

# Who may call: levels from the most open to the most closed.
PUBLIC = "public"  # anyone, logged in or not
LOGIN = "login"  # any logged-in user
READ = "read"  # viewer, editor, admin of the workspace
WRITE = "write"  # editor, admin
ADMIN = "admin"  # admin only
STAFF = "staff"  # Django admin site: staff only (no test user is staff)

ROLES = ("anonymous", "stranger", "viewer", "editor", "admin")
RANK = {"viewer": 1, "editor": 2, "admin": 3}
NEED = {READ: 1, WRITE: 2, ADMIN: 3}

WRITE_OK = frozenset({200, 201, 202, 204, 301, 302, 303, 400, 409, 422})


@dataclass(frozen=True)
class Entry:
    methods: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)  # URL parameter → world attribute (see `fill`)
    query: str = ""
    data: dict | None = None  # form body sent with write methods (default: empty)
    ok: frozenset[int] = frozenset({200})  # the successful GET statuses
    ok_write: frozenset[int] = WRITE_OK  # the successful statuses of write methods
    api: bool = False  # answers 401 (not a login redirect) to anonymous callers


def every_method(level: str) -> dict[str, str]:
    """For views that answer every method alike (read-only documentation)."""
    return {m: level for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}


# Values of URL parameters, by parameter name, unless the entry says otherwise. A value is a world
# attribute path ("item.uid") or a literal prefixed with "=".
PARAMS = {
    "slug": "workspace.slug",
    "uid": "item.uid",
    "version": "=1",
    "kind": "=readme",
}

_INFO = {
    # The Info tab's write and history URLs, for projects and datasets alike.
    "{prefix}/<int:pk>/info/readme/": Entry({"POST": WRITE}),
    "{prefix}/<int:pk>/info/readme/preview/": Entry({"POST": WRITE}),
    "{prefix}/<int:pk>/info/custom-data/": Entry({"POST": WRITE}),
    "{prefix}/<int:pk>/info/history/<slug:kind>/<int:version>/": Entry({"GET": READ}),
    "{prefix}/<int:pk>/info/history/<slug:kind>/<int:version>/restore/": Entry({"POST": WRITE}),
}

W = "w/<slug:slug>/"

MATRIX: dict[str, Entry] = {
    # accounts
    "accounts/login/": Entry({"GET": PUBLIC, "POST": PUBLIC, "PUT": PUBLIC}),  # FormView treats PUT as POST
    "accounts/logout/": Entry({"POST": PUBLIC}, ok=frozenset({200, 302})),
    "accounts/settings/": Entry({"GET": LOGIN}),
    # workspaces
    "": Entry({"GET": LOGIN}, ok=frozenset({200, 302})),  # one workspace: straight to it
    W: Entry({"GET": READ}),
    # projects
    W + "projects/<int:pk>/": Entry({"GET": READ}, {"pk": "project.pk"}),
    W + "projects/<int:pk>/info/": Entry({"GET": READ}, {"pk": "project.pk"}),
    W + "projects/<int:pk>/info/schema/": Entry({"POST": WRITE}, {"pk": "project.pk"}),
    W + "datasets/<int:pk>/": Entry({"GET": READ}, {"pk": "dataset.pk"}),
    W + "datasets/<int:pk>/info/": Entry({"GET": READ}, {"pk": "dataset.pk"}),
    W + "folders/<int:pk>/": Entry({"GET": READ}, {"pk": "folder.pk"}),
    **{
        W + route.format(prefix=prefix): Entry(entry.methods, {"pk": f"{owner}.pk"})
        for prefix, owner in (("projects", "project"), ("datasets", "dataset"))
        for route, entry in _INFO.items()
    },
    # items
    W + "items/<uuid:uid>/": Entry({"GET": READ}),
    W + "items/<uuid:uid>/thumb.png": Entry({"GET": READ}),
    W + "items/<uuid:uid>/metadata/": Entry({"POST": WRITE}),
    W + "items/<uuid:uid>/metadata/json/": Entry({"POST": WRITE}),
    W + "items/bulk-edit/": Entry({"POST": WRITE}),
    W + "changes/": Entry({"GET": READ}),
    W + "changes/<int:pk>/": Entry({"GET": READ}, {"pk": "change_set.pk"}),
    W + "changes/<int:pk>/undo/": Entry({"POST": WRITE}, {"pk": "change_set.pk"}),
    # schemas
    W + "schema/": Entry({"GET": READ}),
    W + "schema/declare/": Entry({"POST": WRITE}),
    W + "schema/drop/": Entry({"POST": WRITE}),
    W + "schema/import/": Entry({"GET": WRITE, "POST": WRITE}),
    W + "schema/change/": Entry({"GET": WRITE, "POST": WRITE}, query="field=weather", data={"field": "weather"}),
    W + "schema/versions/<int:version>/": Entry({"GET": READ}),
    # explorer
    W + "explore/": Entry({"GET": READ}),
    W + "explore/count/": Entry({"GET": READ}),
    W + "explore/facets/": Entry({"GET": READ}),
    W + "explore/selection/": Entry({"POST": READ}),
    # collections
    W + "collections/": Entry({"GET": READ}),
    # imports
    W + "tasks/": Entry({"GET": READ}),
    # the JSON API: its documentation is public, everything else needs a token (anonymous → 401)
    "api/": Entry(every_method(PUBLIC), ok=frozenset({404}), ok_write=frozenset({404}), api=True),  # no resource
    "api/openapi.json": Entry(every_method(PUBLIC), ok_write=frozenset({200}), api=True),
    "api/docs": Entry(every_method(PUBLIC), ok_write=frozenset({200}), api=True),
    "api/health": Entry({"GET": PUBLIC}, api=True),
}

# Whole subtrees with one rule: (route prefix, level for every method the view accepts).
PREFIXES = [
    ("admin/", STAFF),
]


def expected(level: str, role: str, method: str, entry: Entry) -> frozenset[int] | str:
    """The statuses allowed for `role` calling a URL of `level` with `method`, or "login" for a redirect to
    the login page."""
    success = entry.ok if method in ("GET", "HEAD") else entry.ok_write
    if level == PUBLIC:
        return success
    if level == STAFF:
        return "admin-login"
    if role == "anonymous":
        return frozenset({401}) if entry.api else "login"
    if level == LOGIN:
        return success
    if role == "stranger":
        return frozenset({404})
    return success if RANK[role] >= NEED[level] else frozenset({403})


# --- API tokens and the JSON API (helper `api`) ---------------------------------------------------------

_API = "api/w/<slug>/"
_READ = Entry({"GET": READ}, api=True)


def _api(methods: dict[str, str], **params: str) -> Entry:
    return Entry(methods, params, api=True)


MATRIX.update({
    "accounts/settings/tokens/": Entry({"POST": LOGIN}),
    "accounts/settings/tokens/<int:token_id>/revoke/": Entry({"POST": LOGIN}, {"token_id": "=999999"},
                                                             ok_write=frozenset({404})),
    "api/<path:rest>": Entry(every_method(PUBLIC), {"rest": "=no/such/thing"}, ok=frozenset({404}),
                             ok_write=frozenset({404}), api=True),
    "api/workspaces": Entry({"GET": LOGIN}, api=True),
    "api/w/<slug>": _READ,
    _API + "folders": _READ,
    _API + "projects": _READ,
    _API + "projects/<int:project_id>": _api({"GET": READ}, project_id="project.pk"),
    _API + "projects/<int:project_id>/info": _api({"GET": READ}, project_id="project.pk"),
    _API + "projects/<int:project_id>/readme": _api({"GET": READ, "PUT": WRITE}, project_id="project.pk"),
    _API + "projects/<int:project_id>/custom_data": _api({"GET": READ, "PUT": WRITE, "PATCH": WRITE},
                                                         project_id="project.pk"),
    _API + "datasets": _READ,
    _API + "datasets/from_collections": _api({"POST": WRITE}),
    _API + "datasets/<int:dataset_id>": _api({"GET": READ}, dataset_id="dataset.pk"),
    _API + "datasets/<int:dataset_id>/info": _api({"GET": READ}, dataset_id="dataset.pk"),
    _API + "datasets/<int:dataset_id>/readme": _api({"GET": READ, "PUT": WRITE}, dataset_id="dataset.pk"),
    _API + "datasets/<int:dataset_id>/custom_data": _api({"GET": READ, "PUT": WRITE, "PATCH": WRITE},
                                                         dataset_id="dataset.pk"),
    _API + "items": _READ,
    _API + "items/search": _api({"POST": READ}),
    _API + "items/metadata": _api({"POST": WRITE}),
    _API + "items/<uuidstr:item_uid>": _api({"GET": READ}, item_uid="item.uid"),
    _API + "items/<uuidstr:item_uid>/metadata": _api({"GET": READ, "PUT": WRITE, "PATCH": WRITE},
                                                     item_uid="item.uid"),
    _API + "schema": _api({"GET": READ, "PUT": WRITE}),
    _API + "schema/fields": _api({"POST": WRITE}),
    _API + "schema/versions": _READ,
    _API + "change_sets": _READ,
    _API + "change_sets/<int:change_set_id>/undo": _api({"POST": WRITE}, change_set_id="change_set.pk"),
    _API + "imports": _api({"GET": READ, "POST": WRITE}),
    _API + "imports/<uuidstr:task_id>": _api({"GET": READ}, task_id="import_task.uid"),
    _API + "imports/<uuidstr:task_id>/upload": _api({"POST": WRITE}, task_id="import_task.uid"),
    _API + "imports/<uuidstr:task_id>/apply": _api({"POST": WRITE}, task_id="import_task.uid"),
    _API + "imports/<uuidstr:task_id>/cancel": _api({"POST": WRITE}, task_id="import_task.uid"),
    _API + "imports/<uuidstr:task_id>/undo": _api({"POST": WRITE}, task_id="import_task.uid"),
    _API + "exports": _api({"POST": READ}),
    _API + "exports/<uuidstr:export_id>": _api({"GET": READ}, export_id="export_task.uid"),
    # The world's export never ran, so its file is not ready: 409 past the access check.
    _API + "exports/<uuidstr:export_id>/file": Entry({"GET": READ}, {"export_id": "export_task.uid"},
                                                     ok=frozenset({409}), api=True),
    _API + "collections": _api({"GET": READ, "POST": WRITE}),
    _API + "collections/<int:collection_id>": _api({"GET": READ, "DELETE": WRITE}, collection_id="collection.pk"),
    _API + "collections/<int:collection_id>/items": _api({"POST": WRITE}, collection_id="collection.pk"),
    _API + "collections/<int:collection_id>/items/remove": _api({"POST": WRITE}, collection_id="collection.pk"),
    # Visual Layer's custom-metadata API.
    "api/v1/datasets/<dataset_id>/custom_metadata/schema": _api({"GET": READ}, dataset_id="dataset.pk"),
    "api/v1/datasets/<dataset_id>/custom_metadata/tasks": _api({"POST": WRITE}, dataset_id="dataset.pk"),
    "api/v1/datasets/<dataset_id>/custom_metadata/tasks/<uuidstr:task_id>": _api(
        {"POST": WRITE}, dataset_id="dataset.pk", task_id="vl_task.uid"),
    "api/v1/datasets/<dataset_id>/custom_metadata/tasks/<uuidstr:task_id>/status": _api(
        {"GET": READ}, dataset_id="dataset.pk", task_id="vl_task.uid"),
    "api/v1/datasets/<dataset_id>/image/<uuidstr:image_id>/custom_metadata": _api(
        {"GET": READ}, dataset_id="dataset.pk", image_id="item.uid"),
})
