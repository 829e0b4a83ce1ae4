"""Where media bytes live: Django's default storage (`STORAGES["default"]`: the local filesystem under MEDIA_ROOT,
or an S3-compatible bucket by configuration). Every name is derived from a content hash, never from a file name."""

import hashlib
import io

from django.core.files import File
from django.core.files.storage import Storage, storages

ORIGINALS = "originals"
THUMBNAILS = "thumbs"


def media_storage() -> Storage:
    return storages["default"]


def hashed_name(prefix: str, sha256: str, suffix: str = "") -> str:
    """``<prefix>/ab/cd/<sha256><suffix>``: two levels of fan-out keep directories small."""
    return f"{prefix}/{sha256[:2]}/{sha256[2:4]}/{sha256}{suffix}"


def save_once(name: str, content) -> str:
    """Store `content` under `name` unless that name already exists (a content-addressed name always holds the
    same bytes, so an existing file is kept). Returns `name`."""
    storage = media_storage()
    if storage.exists(name):
        return name
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
