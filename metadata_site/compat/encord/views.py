"""The Encord SDK's storage, client-metadata and schema protocol (encord.md), served at the host root.

/v2 REST under ``/v2/public/`` and the legacy RPC ``POST /public``. Every request is signed with an Ed25519 key
its user registered (Settings → SSH keys); the signer sees the workspaces it is a member of (or the one its key
is confined to), resolves folders, items and datasets by UUID among them (404 otherwise) and needs the editor
role to write (403). Item metadata is written through `item_metadata_write` (same validation and change sets as
the UI); a schema save goes through the schema service as a new version.

Client mistakes never end in a 5xx: the SDK retries those with back-off.

The endpoints live by area: `storage`, `projects` and `metadata_schema` (/v2 REST, through `v2.v2_endpoint`) and
`legacy` (the RPC); `access` is the signer they share, `writes` the metadata writes of both transports. This
module is the index `compat/urls.py` routes to.
"""

from .legacy import legacy_rpc
from .metadata_schema import metadata_schema_flat, metadata_schema_v2
from .projects import ontology_detail, project_datasets, project_detail, project_other
from .storage import (
    child_items,
    folder_detail,
    folder_items,
    folder_subfolders,
    folders_search,
    folders_top_level,
    item_detail,
    item_update,
    items_patch_bulk,
)

__all__ = [
    "child_items", "folder_detail", "folder_items", "folder_subfolders", "folders_search", "folders_top_level",
    "item_detail", "item_update", "items_patch_bulk", "legacy_rpc", "metadata_schema_flat", "metadata_schema_v2",
    "ontology_detail", "project_datasets", "project_detail", "project_other",
]
