"""The app's start-up heap, moved out of Python's cyclic garbage collector once it is built.

After start-up the app holds some 170,000 objects tracked by the collector (modules, the
catalog, every tab's widgets, CSS). They live as long as the process, yet a full (generation 2)
collection walks all of them: on `gpuplan watch` with 8 GPUs at 1 s, one every ~30 s took
~70 ms, 1.9 ms/s on average and about a tenth of the process's CPU (measured with gc.callbacks
in tmux, issue 9). `gc.freeze()` moves what exists into a permanent generation the collector
skips (https://docs.python.org/3/library/gc.html#gc.freeze; the same use as Instagram's
pre-fork freeze): later collections walk only what was made since.

What it costs: a frozen object that later becomes part of an unreachable cycle is never freed.
Plain references still free frozen objects as usual; only cycles among start-up objects that
are dropped later stay, so the most it can ever keep is what existed at the freeze, once.
Called by `gpuplan` itself (tui/launch.py), never by tests: a test process starts hundreds of
apps, and each frozen one would stay for the rest of the run.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect what start-up left as garbage, then freeze the rest; the number of objects
    frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
