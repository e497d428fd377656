"""A store with a finished two-iteration run whose rationales cover every source and chain.

Examples t0..t6 (train), v0..v1 (val). Iteration 1 = initial teacher pass, iteration 2 =
refinement; run.best_iteration = 2. What each example's kept rationale is at iteration 2:

  t0  teacher_refined (correct)                 tag "units"
  t1  teacher_initial of iteration 1 (its refinement failed grading and was not kept)
  t2  human edit of a teacher_refined (correct)  tag "hard"
  t3  human edit of a teacher_initial (not graded: correct is None)
  t4  teacher_hinted of iteration 1 (correct)
  t5  teacher_refined, wrong answer (keep-all policy)  tag "hard"
  t6  teacher_refined (correct), but the example is excluded

A second run on the same dataset has its own rationales, which no export of the first may show.
The run config carries a fake API key in several places; none of it may reach an export.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

import store
from store import NewPrediction, NewRationale

SECRET = "sk-FAKE-export-secret-7f3a9c"
ENV_SECRET = "sk-ENV-export-secret-1b2d4e"
KEY_ENV = "UNDO_TEST_EXPORT_API_KEY"


@dataclass
class World:
    db: object
    dataset_id: int
    run_id: int
    other_run_id: int
    ex: dict[str, int] = field(default_factory=dict)  # ext_id -> example id
    text: dict[str, str] = field(default_factory=dict)  # label -> rationale text
    init_ids: dict[int, int] = field(default_factory=dict)  # i -> iteration-1 initial id


def run_config() -> dict:
    return {
        "run": {"name": "refine-demo", "seed": 0},
        "teacher": {"backend": "openai", "model": "big-teacher", "api_key_env": KEY_ENV,
                    "api_key": SECRET, "headers": {"Authorization": f"Bearer {SECRET}"},
                    "base_url": f"https://bob:{SECRET}@teacher.invalid/v1?api_key={SECRET}"},
        "evaluation": {"max_new_tokens": 64},
        "training": {"lr": 0.0001, "epochs": 3},
        "prompts": {"refine_variant": "answer_only"},
    }


def question(i: int) -> str:
    return f"Zoë has {i + 2} apples\nand buys {i + 3} more (cost: {i} €). How many?"


def build_world(db) -> World:
    dataset_id = store.get_or_create_dataset(db, "arith-demo", "number", "fixture")
    rows = [dict(ext_id=f"t{i}", split="train", question=question(i), answer=str(2 * i + 5),
                 answer_raw=f"#### {2 * i + 5}", category=f"cat{i % 2}") for i in range(7)]
    rows += [dict(ext_id=f"v{i}", split="val", question=f"val {i}: 1 + {i}?", answer=str(1 + i))
             for i in range(2)]
    store.add_examples(db, dataset_id, rows)
    ex = {e.ext_id: e.id for split in ("train", "val")
          for e in store.load_examples(db, dataset_id, split)}
    run_id = store.create_run(db, "refine-demo", run_config(), dataset_id=dataset_id,
                              teacher="openai:big-teacher", student="smollm2-135m")
    other = store.create_run(db, "other", {}, dataset_id=dataset_id, teacher="t", student="s")
    world = World(db, dataset_id, run_id, other, ex)
    _iteration_one(world)
    _iteration_two(world)
    _annotations(world)
    for k, acc in ((0, 0.1), (1, 0.3), (2, 0.5)):
        store.upsert_iteration(db, run_id, k, status="done", val_accuracy=acc, train_size=6,
                               metrics={"val_correct": round(acc * 10), "val_total": 10,
                                        "val_flexible_correct": round(acc * 10) + 1,
                                        "val_format": 0.8})
    store.mark_best_iteration(db, run_id, 2)
    store.update_run(db, run_id, status="finished")
    return world


def _add(world: World, label: str, ext_id: str, **fields) -> int:
    text = fields.pop("text", f"{label}: step by step for {ext_id}.\nAnswer: 0")
    fields.setdefault("run_id", world.run_id)
    rationale = NewRationale(example_id=world.ex[ext_id], text=text, **fields)
    store.add_rationales(world.db, [rationale])
    world.text[label] = text
    rows = store.rationales_for_example(world.db, world.ex[ext_id], fields["run_id"])
    return [r.id for r in rows if r.text == text][-1]


def _iteration_one(world: World) -> None:

    for i in (0, 1, 2, 3, 5, 6):
        world.init_ids[i] = _add(world, f"init{i}", f"t{i}", iteration=1, source="teacher_initial",
                                 template="initial", prompt_hash=f"ph-init-{i}",
                                 correct=(i != 5), kept=True)
    _add(world, "init4", "t4", iteration=1, source="teacher_initial", template="initial",
         prompt_hash="ph-init-4", correct=False, kept=False)
    _add(world, "hint4", "t4", iteration=1, source="teacher_hinted", attempt=1, hinted=True,
         template="initial_hinted", prompt_hash="ph-hint-4", correct=True, kept=True)
    world.text["human3"] = "Human-fixed reasoning for t3.\nAnswer: 11"
    store.add_human_edit(world.db, world.init_ids[3], world.text["human3"])
    _add(world, "otherrun0", "t0", run_id=world.other_run_id, iteration=1,
         source="teacher_initial", correct=True, kept=True)


def _iteration_two(world: World) -> None:
    refine = dict(iteration=2, source="teacher_refined", template="refine_answer_only")
    for i in (0, 2, 6):
        rid = _add(world, f"ref{i}", f"t{i}", parent_id=world.init_ids[i],
                   prompt_hash=f"ph-ref-{i}", correct=True, kept=True, **refine)
        if i == 2:
            world.text["human2"] = "Human polish of the refined t2.\nAnswer: 9"
            store.add_human_edit(world.db, rid, world.text["human2"], answer="9", correct=True)
    _add(world, "ref1", "t1", parent_id=world.init_ids[1], prompt_hash="ph-ref-1", correct=False,
         kept=False, **refine)
    _add(world, "ref5", "t5", parent_id=world.init_ids[5], prompt_hash="ph-ref-5", correct=False,
         kept=True, **refine)
    preds = [NewPrediction(world.run_id, k, "val", world.ex[f"v{i}"], f"Answer: {i}", i == 0,
                           answer=str(i)) for k in (1, 2) for i in range(2)]
    store.add_predictions(world.db, preds)


def _annotations(world: World) -> None:
    store.add_tag(world.db, world.ex["t0"], "units")
    store.add_tag(world.db, world.ex["t2"], "hard")
    store.add_tag(world.db, world.ex["t5"], "hard")
    store.set_note(world.db, world.ex["t1"], "fine")
    store.set_excluded(world.db, world.ex["t6"])


@pytest.fixture
def world(db, monkeypatch) -> World:
    monkeypatch.setenv(KEY_ENV, ENV_SECRET)
    return build_world(db)


def test_the_fixture_holds_what_its_docstring_says(world):
    kept = store.latest_kept_rationales(world.db, world.run_id, 2)
    by_ext = {store.get_example(world.db, eid).ext_id: r for eid, r in kept.items()}
    assert {ext: r.source for ext, r in by_ext.items()} == {
        "t0": "teacher_refined", "t1": "teacher_initial", "t2": "human", "t3": "human",
        "t4": "teacher_hinted", "t5": "teacher_refined", "t6": "teacher_refined"}
    assert by_ext["t2"].text == world.text["human2"] and by_ext["t3"].correct is None
    assert store.get_rationale(world.db, by_ext["t2"].parent_id).source == "teacher_refined"
    assert store.excluded_ids(world.db, world.dataset_id) == {world.ex["t6"]}
    assert store.get_run(world.db, world.run_id).best_iteration == 2
