"""Where media bytes live: Django's default storage (`STORAGES["default"]`: the local filesystem under MEDIA_ROOT,
or an S3-compatible bucket by configuration). Every name is derived from a content hash, never from a file name."""

import hashlib
import io
import os
import secrets

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

ORIGINALS = "originals"
THUMBNAILS = "thumbs"


def media_storage() -> Storage:
    return storages["default"]


def hashed_name(prefix: str, sha256: str, suffix: str = "") -> str:
    """``<prefix>/ab/cd/<sha256><suffix>``: two levels of fan-out keep directories small."""
    return f"{prefix}/{sha256[:2]}/{sha256[2:4]}/{sha256}{suffix}"


class AtomicFileSystemStorage(FileSystemStorage):
    """The local media storage: a file appears under its name whole or not at all. Django's FileSystemStorage
    creates the file, then writes into it, so a process killed in between (a worker killed mid-import) leaves an
    empty or cut file under a content-hash name that every later store of the same bytes then trusts. Here the
    bytes go to a hidden part file beside it first, which is then hard-linked to the name (failing, as
    FileSystemStorage does, when the name is taken) and removed."""

    def _save(self, name: str, content) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        part = os.path.join(directory, f".{os.path.basename(full_path)}.{secrets.token_hex(6)}.part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in content.chunks():
                    f.write(chunk if isinstance(chunk, bytes) else chunk.encode())
            if self.file_permissions_mode is not None:
                os.chmod(part, self.file_permissions_mode)
            while True:
                try:
                    os.link(part, full_path)
                except FileExistsError:
                    name = self.get_available_name(name)
                    full_path = self.path(name)
                else:
                    break
        finally:
            os.unlink(part)
        self._ensure_location_group_id(full_path)
        return os.path.relpath(full_path, self.location).replace("\\", "/")


def save_once(name: str, content, *, size: int | None = None) -> str:
    """Store `content` under `name` unless that name already exists (a content-addressed name always holds the
    same bytes, so an existing file is kept; with `size`, one of another size, cut by a crash before writes were
    atomic, is replaced). Returns `name`."""
    storage = media_storage()
    if storage.exists(name):
        if size is None or storage.size(name) == size:
            return name
        storage.delete(name)
    saved = storage.save(name, content if isinstance(content, File) else File(content, name=name))
    if saved != name:  # another process stored the same bytes meanwhile; the storage renamed ours
        storage.delete(saved)
    return name


def save_derived(data: bytes, suffix: str) -> str:
    """Store a derived file (a thumbnail) by the hash of its own bytes; returns its storage name."""
    name = hashed_name(THUMBNAILS, hashlib.sha256(data).hexdigest(), suffix)
    return save_once(name, io.BytesIO(data))


def name_version(name: str) -> str:
    """A short version tag of a content-addressed storage name (the start of its hash), for cache-busting URLs."""
    return name.rsplit("/", 1)[-1][:16]
