"""bulk_gc: the garbage collector's settings during a bulk pass."""

import gc

import pytest

from metadata_site.lib.gctune import BULK_THRESHOLDS, bulk_gc


def test_it_collects_less_often_inside_and_puts_everything_back_after():
    before = gc.get_threshold()
    with bulk_gc():
        assert gc.get_threshold() == BULK_THRESHOLDS
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_it_puts_everything_back_when_the_pass_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), bulk_gc():
        raise RuntimeError("the worker stopped")
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)
