from django.dispatch import Signal

# Sent inside the writing transaction after item metadata was written (a form, a bulk edit, an import batch,
# an undo, a type conversion), so a receiver can keep derived data in step in the same transaction.
# Arguments: workspace (Workspace), item_ids (list[int], the items whose metadata changed),
# change_set (ChangeSet).
metadata_written = Signal()
