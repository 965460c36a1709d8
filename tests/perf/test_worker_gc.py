"""`madoguchi serve`'s workers freeze what the loaded application holds (docs/performance.md,
seventeenth round): the garbage collector's full passes, which ran in the request that
triggered them, then no longer walk Django's and madoguchi's modules, classes and settings."""

from __future__ import annotations

import gc

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
