"""Item uids: version 7 uuids, ordered by their millisecond of creation, random after it."""

import time
import uuid

from metadata_site.items.models import Item
from metadata_site.lib.uids import uuid7, uuid7_hexes


def test_each_uid_is_a_version_7_uuid_of_the_rfc_variant():
    uids = [uuid.UUID(h) for h in uuid7_hexes(1000)] + [uuid7()]
    assert {u.version for u in uids} == {7}
    assert {u.variant for u in uids} == {uuid.RFC_4122}


def test_the_first_48_bits_are_the_millisecond_it_was_made():
    before = time.time_ns() // 1_000_000
    made = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= made.int >> 80 <= after


def test_uids_of_a_later_millisecond_sort_after_earlier_ones():
    first = uuid7_hexes(3)
    time.sleep(0.002)
    later = uuid7_hexes(3)
    assert max(first) < min(later)


def test_the_rest_is_random_so_a_million_uids_of_one_millisecond_do_not_repeat():
    hexes = uuid7_hexes(1_000_000)
    assert len(set(hexes)) == len(hexes)
    assert len({h[:12] for h in hexes}) <= 2  # one millisecond, or two if it turned while they were made


def test_a_new_item_gets_a_version_7_uid_by_default():
    assert Item().uid.version == 7
