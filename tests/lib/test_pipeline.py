"""read_ahead: a generator run ahead of its consumer in a thread."""

import sys
import threading

import pytest

from metadata_site.lib.pipeline import read_ahead


def test_it_yields_every_item_in_order():
    assert list(read_ahead(iter(range(100)), depth=2)) == list(range(100))


def test_the_items_are_produced_in_another_thread():
    def produce():
        for _ in range(3):
            yield threading.current_thread().name

    assert set(read_ahead(produce())) == {"read-ahead"}


def test_an_error_in_the_producer_is_raised_at_the_item_where_it_happened():
    def produce():
        yield 1
        yield 2
        raise ValueError("row 3 is broken")

    seen = []
    with pytest.raises(ValueError, match="row 3 is broken"):
        for item in read_ahead(produce()):
            seen.append(item)
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer_and_closes_it():
    state = {"closed": False, "made": 0}

    def produce():
        try:
            for n in range(1_000_000):
                state["made"] += 1
                yield n
        finally:
            state["closed"] = True

    items = read_ahead(produce(), depth=2)
    assert next(items) == 0
    items.close()
    assert state["closed"] is True
    assert state["made"] < 10


def test_the_switch_interval_is_put_back_afterwards():
    before = sys.getswitchinterval()
    items = read_ahead(iter([1, 2]))
    next(items)
    assert sys.getswitchinterval() <= 0.0005
    list(items)
    assert sys.getswitchinterval() == before
