from django.dispatch import Signal

# Sent after a new schema version is written (a field declared, a schema imported, a type changed).
# Arguments: workspace (Workspace), schema (MetadataSchema, the new current version).
# The explorer listens to build index support for the declared fields in the background.
schema_changed = Signal()
