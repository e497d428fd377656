"""Full garbage collections wait for a pause in typing (undo_tui.gc_pacing).

Unit part: a pacer on a controlled clock, against CPython's real collector (generation counts
are raised with real gc.collect(1) passes). App part: the real app arms the pacer once the
store is open, starts it at the first idle moment and undoes everything when it exits.
"""

from __future__ import annotations

import gc

import pytest

from tests.fixtures.tui_fixtures import wait_for
from undo_tui.app import UndoApp
from undo_tui.gc_pacing import DUE_AFTER, FORCE_AFTER, HELD, GcPacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pacer():
    threshold = gc.get_threshold()
    clock = Clock()
    pacer = GcPacer(idle_s=1.0, clock=clock)
    pacer.clock_ = clock
    yield pacer
    pacer.stop()
    gc.set_threshold(*threshold)


def owe(passes: int) -> None:
    """Make generation 2 owed `passes` generation-1 collections (each bumps its count by one)."""
    for _ in range(passes):
        gc.collect(1)


def test_start_freezes_start_up_objects_and_holds_full_collections(pacer):
    before = gc.get_threshold()
    pacer.start()
    assert pacer.active
    assert gc.get_freeze_count() > 1000
    assert gc.get_threshold() == (before[0], before[1], HELD)
    owe(DUE_AFTER + 5)  # far past CPython's own trigger: nothing collected generation 2
    assert gc.get_count()[2] >= DUE_AFTER + 5
    pacer.stop()
    assert not pacer.active
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_an_owed_collection_waits_for_an_idle_moment(pacer):
    pacer.start()
    owe(DUE_AFTER)
    pacer.input_seen()
    pacer.clock_.now += 0.5  # typing: not idle yet
    assert not pacer.tick()
    assert gc.get_count()[2] >= DUE_AFTER and pacer.collections == 0
    pacer.clock_.now += 0.6  # 1.1 s without input
    assert pacer.tick()
    assert pacer.collections == 1
    assert gc.get_count()[2] == 0  # the full collection ran and reset the owed count
    assert not pacer.tick()  # nothing owed any more


def test_idle_without_enough_owed_passes_collects_nothing(pacer):
    pacer.start()
    gc.collect()  # nothing owed
    owe(DUE_AFTER - 2)
    pacer.clock_.now += 10
    assert not pacer.tick()
    assert pacer.collections == 0


def test_a_busy_app_still_collects_once_far_behind(pacer):
    pacer.start()
    owe(FORCE_AFTER)
    pacer.input_seen()  # never idle
    assert pacer.tick()
    assert pacer.collections == 1


def test_a_stopped_or_never_armed_pacer_does_nothing(pacer):
    owe(DUE_AFTER)
    pacer.clock_.now += 10
    assert not pacer.tick() and not pacer.active  # not armed
    pacer.arm()
    assert not pacer.tick()  # the first idle tick starts it, it does not collect yet
    assert pacer.active
    pacer.stop()
    owe(DUE_AFTER)
    assert not pacer.tick() and not pacer.active


@pytest.mark.anyio
@pytest.mark.usefixtures("tui_env")
async def test_the_app_starts_pacing_when_idle_and_restores_the_collector_on_exit(tui_store):
    path, _ = tui_store
    threshold = gc.get_threshold()
    app = UndoApp(path, poll_interval=0.2)
    app.gc_pacer.idle_s = 0.3
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.gc_pacer.active, what="the pacer to start")
        assert gc.get_threshold()[2] == HELD
        assert gc.get_freeze_count() > 0
        started_at = app.gc_pacer.last_input
        await pilot.press("j")  # a key is input: the pacer hears it
        assert app.gc_pacer.last_input > started_at
        owe(DUE_AFTER)
        await wait_for(pilot, lambda: app.gc_pacer.collections >= 1,
                       what="an owed full collection at the next idle tick")
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0
