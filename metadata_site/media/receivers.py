"""Receivers of other apps' signals, connected in MediaConfig.ready."""

from django.dispatch import receiver

from metadata_site.items.models import Item
from metadata_site.items.signals import embeddings_written, media_pending

from .services import media_queue_new


@receiver(media_pending, sender=Item, dispatch_uid="media.queue_pending")
def queue_pending(sender, *, item_ids: list[int], **kwargs) -> None:
    """Items created in bulk with a media URL (`items.services.items_create_bulk`): queue the worker for them."""
    media_queue_new(item_ids)


@receiver(embeddings_written, dispatch_uid="media.embeddings_written")
def index_embeddings(sender, *, workspace_id: int, counts: dict[str, int], **kwargs) -> None:
    """Vectors of embedding fields were written (`items.embeddings`): keep the fields' indexes up to date."""
    from .vectors import embeddings_changed

    embeddings_changed(workspace_id=workspace_id, counts=counts)
