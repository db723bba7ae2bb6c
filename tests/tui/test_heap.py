"""freeze_startup_heap (tui/heap.py): what start-up left as garbage is collected first, what
lives is frozen (the collector skips it), and what is made later is collected as before."""

from __future__ import annotations

import gc
import weakref

from tui.heap import freeze_startup_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_garbage_goes_first_the_rest_is_frozen_and_later_garbage_is_still_collected():
    before = _Node()
    gone_before = weakref.ref(before)
    del before  # garbage at the freeze: collected, not frozen for ever
    kept = _Node()
    try:
        frozen = freeze_startup_heap()
        assert gone_before() is None
        assert frozen == gc.get_freeze_count() > 0
        later = _Node()
        gone_later = weakref.ref(later)
        del later
        gc.collect()
        assert gone_later() is None  # made after the freeze: collected as usual
        assert kept.me is kept
    finally:
        gc.unfreeze()  # the test process goes on as it was
