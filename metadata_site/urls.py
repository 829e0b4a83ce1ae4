from django.contrib import admin
from django.urls import include, path

workspace_apps = [
    "metadata_site.projects.urls",
    "metadata_site.items.urls",
    "metadata_site.schemas.urls",
    "metadata_site.explorer.urls",
    "metadata_site.collections.urls",
    "metadata_site.imports.urls",
    "metadata_site.media.urls",
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("metadata_site.accounts.urls")),
    path("", include("metadata_site.workspaces.urls")),
    *[path("w/<slug:slug>/", include(module)) for module in workspace_apps],
    path("", include("metadata_site.api.urls")),
    path("", include("metadata_site.compat.urls")),
]
