import pytest

from .world import build_world, destroy_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world per module, committed; tests send each request in a rolled-back savepoint."""
    with django_db_blocker.unblock():
        built = build_world()
        yield built
        destroy_world(built)
