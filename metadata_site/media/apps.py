from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "metadata_site.media"
    label = "media"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        # Pillow's own decompression-bomb guard (it refuses twice this many pixels while opening a header) at the
        # project's limit; decode.check_pixels refuses anything above the limit itself, with the image's size.
        Image.MAX_IMAGE_PIXELS = settings.MEDIA_MAX_IMAGE_PIXELS

        from . import (
            receivers,  # noqa: F401 - queues the worker for items created with a media URL
            tasks,  # noqa: F401 - connects the receiver that enqueues the services' background work
        )
