"""A PostgreSQL session advisory lock taken by polling (a no-op on SQLite, where one writer runs at a time).

Waiting in ``pg_advisory_lock`` keeps a statement, so a transaction, open: the holder's ``CREATE INDEX
CONCURRENTLY`` waits for every such transaction to end, and the two processes deadlock. Two workers building the
same workspace's indexes or projection did exactly that (tests/workers/test_many_workers.py). Polling
``pg_try_advisory_lock`` ends each try at once, so the holder's concurrent index builds never wait for the waiter.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def lock_key(name: str) -> int:
    return zlib.crc32(name.encode())


@contextmanager
def polled_advisory_lock(name: str, *, poll_seconds: float = 0.2) -> Iterator[None]:
    """Hold the session advisory lock `name` (its CRC-32) on the default connection for the block."""
    if connection.vendor != "postgresql":
        yield
        return
    key = lock_key(name)
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if cursor.fetchone()[0]:
                break
            time.sleep(poll_seconds)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
