"""An upload handler that stops reading a media file as soon as it passes MEDIA_MAX_UPLOAD_BYTES, so an oversized
file never fills the disk: the file is skipped and its name recorded on the request (`request.media_oversize`),
for the endpoint to report. It acts only on media upload URLs (paths ending in ``/folders/<id>/media``)."""

import re

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

MEDIA_UPLOAD_PATH = re.compile(r"/folders/\d+/media/?$")


def oversize_files(request) -> dict[int, str]:
    """The files the handler skipped because they were too large: position among the files sent → file name."""
    return getattr(request, "media_oversize", {})


class MediaSizeLimitUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.active = request is not None and bool(MEDIA_UPLOAD_PATH.search(request.path_info))
        self.received = 0

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.received = 0
        self.position = getattr(self, "position", -1) + 1

    def receive_data_chunk(self, raw_data, start):
        if self.active:
            self.received += len(raw_data)
            if self.received > settings.MEDIA_MAX_UPLOAD_BYTES:
                if not hasattr(self.request, "media_oversize"):
                    self.request.media_oversize = {}
                self.request.media_oversize[self.position] = self.file_name
                raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) makes the file
