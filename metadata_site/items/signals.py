from django.dispatch import Signal

# Sent inside the writing transaction after item metadata was written (a form, a bulk edit, an import batch,
# an undo, a type conversion), so a receiver can keep derived data in step in the same transaction.
# Arguments: workspace (Workspace), item_ids (list[int], the items whose metadata changed),
# change_set (ChangeSet).
metadata_written = Signal()

# Sent inside the writing transaction after items were created whose media waits for the media worker (a media
# URL to fetch: `MediaStatus.PENDING`), so the media app, which builds on items, queues its worker for them.
# Arguments: item_ids (list[int], never empty).
media_pending = Signal()

# Sent inside an undo's transaction, with the change set locked and before any value is restored, so the app
# that made the change can put back what is not item metadata (a rename's field and saved filters). A receiver
# refuses the undo by raising ChangeSetError. Arguments: change_set (ChangeSet, locked), user.
change_set_undoing = Signal()

# Sent after the transaction that stored or removed embedding vectors committed (`items.embeddings`), so the
# media app can bring the fields' nearest-neighbour indexes up to date. Arguments: workspace_id (int),
# counts (dict[str, int]: vectors written or removed, by field).
embeddings_written = Signal()
