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
    W + "tasks/new/": Entry({"GET": WRITE, "POST": WRITE}),
    W + "tasks/<int:pk>/": Entry({"GET": READ}, params={"pk": "import_task.pk"}),
    W + "tasks/<int:pk>/apply/": Entry({"POST": WRITE}, params={"pk": "import_task.pk"}),
    W + "tasks/<int:pk>/cancel/": Entry({"POST": WRITE}, params={"pk": "import_task.pk"}),
    W + "tasks/<int:pk>/undo/": Entry({"POST": WRITE}, params={"pk": "import_task.pk"}),
    # The world's task has no error report and no export file: members get 404, like a missing file.
    W + "tasks/<int:pk>/errors.csv": Entry({"GET": READ}, params={"pk": "import_task.pk"}, ok=frozenset({404})),
    W + "tasks/<int:pk>/download/": Entry({"GET": READ}, params={"pk": "import_task.pk"}, ok=frozenset({404})),
    W + "export/": Entry({"GET": READ}, query="format=json"),
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
