"""The teacher stage of an iteration: which questions go to the teacher, with what context.

Iteration 1 asks for an initial rationale for every training question. Iteration k >= 2 asks for
a refined one (all questions, or only those the student got wrong), showing the teacher its
previous rationale, the student's answer and verdict, and a few of the student's validation
errors. The calls themselves, the cache, grading, keep policies and storage live in the teacher
pass (engine.generation.run_teacher_pass); this module only decides what to ask.
"""

from __future__ import annotations

import store
from engine.generation.teacher_pass import PassItem
from engine.loop.curation import carry_human_edits, describe_carried
from engine.loop.error_selection import ErrorIndex, ValError, select_errors
from engine.loop.stage_context import StageContext
from engine.loop.stages import StageStopped
from engine.prompts import StudentAttempt, StudentError

REFINE_TEMPLATES = {"full": "refine_full", "answer_only": "refine_answer_only",
                    "hinted": "hinted"}


def template_name(ctx: StageContext) -> str:
    if ctx.config.loop.keep == "hinted":
        return "hinted"
    if ctx.k == 1:
        return ctx.config.prompts.initial
    return REFINE_TEMPLATES[ctx.config.prompts.refine_variant]


def plan_items(ctx: StageContext) -> list[PassItem]:
    """The questions for the teacher in iteration k, each with its refinement context."""
    examples = ctx.examples("train", include_excluded=False)
    if ctx.k == 1:
        return [PassItem(example=e) for e in examples]
    previous = {p.example_id: p for p in store.predictions_for(ctx.db, ctx.run.id, ctx.k - 1,
                                                                "train")}
    latest = _latest_teacher_rationales(ctx)
    index = ErrorIndex(_val_errors(ctx))
    loop = ctx.config.loop
    items = []
    for example in examples:
        prediction = previous.get(example.id)
        if loop.regenerate == "wrong" and prediction is not None and prediction.correct:
            continue
        parent = latest.get(example.id)
        student = None if prediction is None else StudentAttempt(
            prediction.output, prediction.answer, prediction.correct)
        errors = tuple(StudentError(e.question, e.student_answer, e.gold) for e in select_errors(
            index, example.question, example.category, loop.val_errors_shown,
            loop.val_error_selection, ctx.config.run.seed, example.id))
        items.append(PassItem(example=example, parent_id=parent.id if parent else None,
                              previous_rationale=parent.text if parent else "(none)",
                              student=student, errors=errors))
    return items


def teacher_items(ctx: StageContext) -> list[PassItem]:
    """plan_items, less the examples a human edit answers in iteration 1 (engine.loop.curation:
    the edit is stored as the run's rationale instead)."""
    items = plan_items(ctx)
    if ctx.k != 1:
        return items
    carried = carry_human_edits(ctx)
    if carried:
        edits = store.human_edits(ctx.db, ctx.dataset.id)
        store.add_event(ctx.db, ctx.run.id, "log", stage="teacher", iteration=ctx.k,
                        message=describe_carried([edits[i] for i in carried if i in edits]))
    return [item for item in items if item.example.id not in carried]


def _latest_teacher_rationales(ctx: StageContext) -> dict[int, store.Rationale]:
    """Per example, the newest non-failed rationale of earlier iterations (human edits included)."""
    latest: dict[int, store.Rationale] = {}
    for k in range(1, ctx.k):
        for r in store.rationales_for_iteration(ctx.db, ctx.run.id, k):
            if r.status != "failed" and (r.example_id not in latest
                                         or r.kept >= latest[r.example_id].kept):
                latest[r.example_id] = r
    return latest


def _val_errors(ctx: StageContext) -> list[ValError]:
    examples = {e.id: e for e in ctx.examples("val")}
    return [ValError(p.example_id, examples[p.example_id].question, p.answer,
                     examples[p.example_id].answer, examples[p.example_id].category)
            for p in store.predictions_for(ctx.db, ctx.run.id, ctx.k - 1, "val")
            if not p.correct and p.example_id in examples]


def stage_teacher(ctx: StageContext) -> None:
    from engine.generation import PassOptions, run_teacher_pass
    from engine.prompts import load_template
    from engine.teachers import make_teacher

    items = teacher_items(ctx)
    if not items:
        store.add_event(ctx.db, ctx.run.id, "log", stage="teacher", iteration=ctx.k,
                        message="no training question needs the teacher in this iteration")
        return
    override = ctx.config.prompts.dir or None
    template = load_template(template_name(ctx), override)
    options = PassOptions(
        run_id=ctx.run.id, iteration=ctx.k, answer_type=ctx.dataset.answer_type,
        keep=ctx.config.loop.keep, keep_rules=ctx.config.loop.keep_rules(), template=template,
        retries=ctx.config.loop.retries if ctx.config.loop.keep == "retry" else 0)
    log_path = ctx.run.log_path
    with make_teacher(ctx.config.teacher, log_path=log_path) as teacher:
        report = run_teacher_pass(ctx.db, teacher, items, options,
                                  should_stop=ctx.stop_checker())
    store.add_event(ctx.db, ctx.run.id, "log", stage="teacher", iteration=ctx.k,
                    message=f"teacher ({template.id}): kept {report.kept}/{report.attempted}, "
                            f"{report.calls_summary()}, {report.truncated} truncated"
                            + (f"; not kept: {store.describe_rejections(report.reasons)}"
                               if report.reasons else ""))
    if report.stopped:
        raise StageStopped
