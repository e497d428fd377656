"""Full garbage collections at idle moments, never in the middle of a key press.

CPython's full (generation-2) collection walks every tracked object. In the TUI, with a screen
of rows open, that is 60-125 ms, and it fires whenever enough objects have survived the young
generations, which in practice is in the middle of a page load: bench_tui saw a 20 ms `g`
(first page) take 134-175 ms and the errors browser open in 200 ms instead of 70 because of it.

So, at the first idle moment after the first screen is up (arm(), then tick()):
- the objects made at start-up (modules, classes, compiled CSS: about 55k) are frozen, so no
  later collection walks them again (gc.freeze, as CPython documents for long-lived processes);
- automatic full collections are held back, and the app runs one itself, on a timer, once no
  key or mouse event has come for IDLE_S seconds. Young generations are still collected
  automatically (a few ms each), so memory that only reference counting frees is unaffected.
- A full collection still runs, idle or not, after FORCE_AFTER young-generation-1 passes, so an
  app kept busy without pause cannot grow without bound.

stop() undoes all of it (tests run many apps in one process; frozen objects from an ended app
must become collectable again). Textual's own PAUSE_GC_ON_SCROLL (gc.disable while a smooth
scroll runs) is left as it is: it switches automatic collection off and on, not the thresholds.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

IDLE_S = 1.0  # no input for this long: a full collection cannot delay what a user waits for
HELD = 1_000_000  # generation-2 threshold while held: in effect, never automatic
DUE_AFTER = 10  # CPython's default generation-2 threshold: run one when idle after this many
FORCE_AFTER = 400  # generation-1 passes: run one even without an idle moment


class GcPacer:
    """Holds back automatic full collections and runs them when the user is not waiting."""

    def __init__(self, idle_s: float = IDLE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self.clock = clock
        self.last_input = clock()
        self.saved_threshold: tuple[int, int, int] | None = None
        self.armed = False  # start at the first idle tick
        self.collections = 0  # full collections run by tick()

    @property
    def active(self) -> bool:
        return self.saved_threshold is not None

    def arm(self) -> None:
        """Start at the next idle tick (the freeze costs one full collection: not at paint)."""
        self.armed = True

    def start(self) -> None:
        """Freeze what start-up made, then hold automatic full collections back."""
        if self.active:
            return
        gc.collect()
        gc.freeze()
        self.saved_threshold = gc.get_threshold()
        young, middle, _ = self.saved_threshold
        gc.set_threshold(young, middle, HELD)

    def stop(self) -> None:
        """Thresholds as they were, and frozen objects collectable again."""
        self.armed = False
        if not self.active:
            return
        gc.set_threshold(*self.saved_threshold)
        self.saved_threshold = None
        gc.unfreeze()

    def input_seen(self) -> None:
        self.last_input = self.clock()

    def idle(self) -> bool:
        return self.clock() - self.last_input >= self.idle_s

    def due(self) -> bool:
        """A full collection is owed (enough generation-1 passes) and the moment is right."""
        passes = gc.get_count()[2]
        if passes >= FORCE_AFTER:
            return True
        return passes >= DUE_AFTER and self.idle()

    def tick(self) -> bool:
        """Called on a timer from the UI thread: run the owed full collection if now is idle."""
        if not self.active:
            if self.armed and self.idle():
                self.armed = False
                self.start()
            return False
        if not self.due():
            return False
        gc.collect()
        self.collections += 1
        return True
