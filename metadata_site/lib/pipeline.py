"""Run a generator one or two items ahead of its consumer, in a thread of its own.

An import spends its time in two places: Python reading, parsing and checking rows, and the database
writing the previous batch. Run one after the other they add up; with the reading in a thread, the
database works (on the other core, its own process) while Python prepares the next batch. Only the
producer runs Python while the consumer waits for the database, so the interpreter lock costs little.
The producer must not use the database: Django's connections belong to the thread that opened them.
"""

import queue
import sys
import threading
from collections.abc import Iterator

_DONE = object()
SWITCH_INTERVAL = 0.0005


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def read_ahead[T](items: Iterator[T], *, depth: int = 2) -> Iterator[T]:
    """Yield what `items` yields, produced by a thread up to `depth` items ahead. An exception in the
    producer is raised here, at the item where it happened; when the consumer stops early (an exception,
    `close()`), the producer stops at its next item and `items` is closed in its own thread."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    # When the database answers, the consumer waits for the producer to let go of the interpreter lock, by
    # default up to 5 ms; a batch makes a handful of round trips.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    thread.start()
    try:
        while True:
            value = buffer.get()
            if value is _DONE:
                return
            if isinstance(value, _Failure):
                raise value.exc
            yield value
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
