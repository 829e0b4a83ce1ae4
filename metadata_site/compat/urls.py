from django.urls import path

from . import supervisely, views
from .encord import views as encord

app_name = "compat"

v2 = "v2/public/"
urlpatterns = [
    # Supervisely SDK: POST <server>/public/api/v3/<method>, no trailing slash.
    path("public/api/v3/<str:method>", supervisely.dispatch, name="supervisely"),
    # Encord SDK: /v2 REST and the legacy RPC.
    path(f"{v2}storage/folders", encord.folders_top_level, name="encord-folders"),
    path(f"{v2}storage/search/folders", encord.folders_search, name="encord-folders-search"),
    path(f"{v2}storage/folders/<str:folder>", encord.folder_detail, name="encord-folder"),
    path(f"{v2}storage/folders/<str:folder>/folders", encord.folder_subfolders, name="encord-subfolders"),
    path(f"{v2}storage/folders/<str:folder>/items", encord.folder_items, name="encord-folder-items"),
    path(f"{v2}storage/folders/<str:folder>/items/<str:item>", encord.item_update, name="encord-item-update"),
    path(
        f"{v2}storage/folders/<str:folder>/items/<str:item>/child-items",
        encord.child_items,
        name="encord-child-items",
    ),
    path(f"{v2}storage/items/patch-bulk", encord.items_patch_bulk, name="encord-items-patch-bulk"),
    path(f"{v2}storage/items/<str:item>", encord.item_detail, name="encord-item"),
    path(f"{v2}projects/<str:project>", encord.project_detail, name="encord-project"),
    path(f"{v2}projects/<str:project>/datasets", encord.project_datasets, name="encord-project-datasets"),
    path(f"{v2}projects/<str:project>/<path:rest>", encord.project_other, name="encord-project-other"),
    path(f"{v2}ontologies/<str:ontology>", encord.ontology_detail, name="encord-ontology"),
    path(f"{v2}organisation/client-metadata-schema-v2", encord.metadata_schema_v2, name="encord-schema-v2"),
    path(f"{v2}organisation/client-metadata-schema", encord.metadata_schema_flat, name="encord-schema-flat"),
    path("public", encord.legacy_rpc, name="encord-legacy"),
    # SSH keys on the settings page.
    path("accounts/settings/ssh-keys/", views.ssh_key_add_view, name="ssh-key-add"),
    path("accounts/settings/ssh-keys/<int:key_id>/remove/", views.ssh_key_remove_view, name="ssh-key-remove"),
]
