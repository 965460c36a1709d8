"""`madoguchi serve`'s workers freeze what the loaded application holds (docs/performance.md,
seventeenth round): the garbage collector's full passes, which ran in the request that
triggered them, then no longer walk Django's and madoguchi's modules, classes and settings."""

from __future__ import annotations

import gc
import itertools
import weakref

from madoguchi.core import gconf


def test_a_worker_freezes_the_objects_of_the_loaded_application():
    import madoguchi.urls  # noqa: F401 (the application, as the worker has loaded it)

    gc.unfreeze()
    alive = gc.get_objects()
    try:
        gconf.post_worker_init(object())
        # Everything alive before the hook is frozen (the list above holds a reference to
        # each): no longer in the oldest generation, which a full pass walks.
        assert gc.get_freeze_count() >= len(alive)
        walked = {id(o) for o in gc.get_objects(generation=2)}
        assert not walked & {id(o) for o in alive}
    finally:
        gc.unfreeze()


class _Node:
    itself: object


def test_a_worker_collects_and_freezes_again_after_its_first_requests(monkeypatch):
    monkeypatch.setattr(gconf, "_requests", itertools.count(1))
    gc.unfreeze()
    try:
        for _ in range(gconf.FREEZE_AGAIN_AFTER - 1):
            gconf.post_request(object(), None, {}, None)
        assert gc.get_freeze_count() == 0  # not yet
        cache = [_Node() for _ in range(100)]  # what the first requests keep
        garbage = _Node()
        garbage.itself = garbage  # a cycle nothing refers to but itself
        collected = weakref.ref(garbage)
        del garbage
        gconf.post_request(object(), None, {}, None)
        frozen = gc.get_freeze_count()
        assert frozen >= len(cache)
        walked = {id(o) for o in gc.get_objects()}  # every generation but the frozen objects
        assert all(gc.is_tracked(o) and id(o) not in walked for o in cache)
        # The cycle was collected before the freeze, not frozen for ever.
        assert collected() is None
        # Only once: what later requests make stays with the collector.
        later = [_Node() for _ in range(10)]
        for _ in range(gconf.FREEZE_AGAIN_AFTER + 1):
            gconf.post_request(object(), None, {}, None)
        walked = {id(o) for o in gc.get_objects()}
        assert all(id(o) in walked for o in later)
    finally:
        gc.unfreeze()
