"""Assisted decoding on the tiny same-tokenizer pair: exactness, ownership, caps and the controller."""

from __future__ import annotations

import pytest
import torch

from engine.wheels.budget import BudgetController, Cap, Ledger
from engine.wheels.decoding import DecodeOptions, LazyTeacher, assisted_generate
from engine.wheels.policies import Always, Disagree, Never, RandomAsk, Threshold

MAX_NEW = 24


def plain_greedy(model, models, prompt: list[int], max_new: int = MAX_NEW) -> list[int]:
    """The model's own generate(), one sequence at a time (no padding): the reference."""
    from transformers import GenerationConfig

    config = GenerationConfig(max_new_tokens=max_new, do_sample=False, num_beams=1,
                              eos_token_id=models.eos_ids, pad_token_id=models.pad_id)
    ids = torch.tensor([prompt])
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                             generation_config=config)
    new = out[0, len(prompt):].tolist()
    end = next((i for i, t in enumerate(new) if t in models.eos_ids), None)
    return new if end is None else new[:end + 1]


def run(models, prompts, policy, cap=Cap("none"), controller=None, ledger=None, **options):
    settings = dict(max_new_tokens=MAX_NEW) | options
    return assisted_generate(models, prompts, prompts, policy, cap, DecodeOptions(**settings),
                             controller, ledger)


def test_student_policy_is_the_students_greedy_output_and_never_calls_the_teacher(
        tiny_pair, tiny_prompts):
    models, _ = tiny_pair
    outputs = run(models, tiny_prompts, Never())
    for prompt, output in zip(tiny_prompts, outputs):
        assert output.token_ids == plain_greedy(models.student, models, prompt)
        assert output.asks == 0 and output.teacher_tokens == 0 and output.teacher_calls == 0


def test_teacher_policy_is_the_teachers_greedy_output(tiny_pair, tiny_prompts):
    models, _ = tiny_pair
    outputs = run(models, tiny_prompts, Always())
    for prompt, output in zip(tiny_prompts, outputs):
        assert output.token_ids == plain_greedy(models.teacher, models, prompt)
        assert all(output.owners)
        # read once each: its prompt and every token it wrote but the last one
        assert output.teacher_tokens == len(prompt) + output.new_tokens - 1
    # ask training samples the student but takes the teacher's greedy token
    kept_greedy = run(models, tiny_prompts, Always(), do_sample=True, seed=3,
                      teacher_do_sample=False)
    assert [o.token_ids for o in kept_greedy] == [o.token_ids for o in outputs]
    sampled = run(models, tiny_prompts, Always(), do_sample=True, seed=3)
    assert [o.token_ids for o in sampled] != [o.token_ids for o in outputs]


def test_the_pair_really_differs(tiny_pair, tiny_prompts):
    """Otherwise the exactness tests above would prove nothing."""
    models, _ = tiny_pair
    student = run(models, tiny_prompts, Never())
    teacher = run(models, tiny_prompts, Always())
    assert sum(s.token_ids != t.token_ids for s, t in zip(student, teacher)) >= len(tiny_prompts) - 1


def test_disagree_without_a_cap_writes_the_teachers_greedy_output(tiny_pair, tiny_prompts):
    models, _ = tiny_pair
    outputs = run(models, tiny_prompts, Disagree())
    teacher = run(models, tiny_prompts, Always())
    for output, reference in zip(outputs, teacher):
        assert output.token_ids == reference.token_ids
    # it asked only where the two disagreed: some tokens, not all
    assert 0 < sum(o.asks for o in outputs) < sum(o.new_tokens for o in outputs)


@pytest.mark.parametrize("cap", [Cap("share", 0.2), Cap("share", 0.05), Cap("count", 3)])
def test_the_hard_cap_is_never_exceeded_at_any_length(tiny_pair, tiny_prompts, cap):
    models, _ = tiny_pair
    for policy, controller in ((Always(), None), (Disagree(), None),
                               (RandomAsk(seed=3), BudgetController(0.9))):
        for output in run(models, tiny_prompts, policy, cap, controller, max_new_tokens=40):
            for n in range(1, output.new_tokens + 1):  # every prefix, not only the end
                assert not cap.violated(sum(output.owners[:n]), n), (policy.name, n)
            if policy.name == "teacher":  # always asking: the cap, and only the cap, stops it
                n = output.new_tokens
                allowed = min(3, n) if cap.kind == "count" else int(cap.value * n + 1e-9)
                assert output.asks == allowed


def pooled_after_each_step(outputs) -> list[tuple[int, int]]:
    """(teacher-written, written) over all rows of one batch after each decoding step."""
    steps = max(o.new_tokens for o in outputs)
    return [(sum(sum(o.owners[:step + 1]) for o in outputs),
             sum(min(o.new_tokens, step + 1) for o in outputs)) for step in range(steps)]


@pytest.mark.parametrize("target", [0.05, 0.2])
def test_the_point_cap_is_never_exceeded_over_the_point_at_any_step(tiny_pair, tiny_prompts,
                                                                    target):
    """Across two batches sharing one tally, after every step of each: teacher-written <=
    floor(target x written) over everything the point has written so far."""
    models, _ = tiny_pair
    cap = Cap("point", target)
    for policy, tally in ((Always(), Ledger()), (Disagree(), Ledger()),
                          (RandomAsk(seed=3), BudgetController(0.9))):
        before = (0, 0)
        for batch in range(2):
            controller = tally if policy.scored else None
            outputs = run(models, tiny_prompts, policy, cap, controller, tally,
                          max_new_tokens=40, seed=batch)
            for asks, written in pooled_after_each_step(outputs):
                assert not cap.violated(before[0] + asks, before[1] + written), policy.name
            before = (tally.asks, tally.tokens)
        if policy.name == "teacher":  # it asks everywhere: the cap alone stops it, at the brim
            assert tally.asks == int(target * tally.tokens + 1e-9) > 0


def test_the_point_cap_lets_the_first_token_be_asked_where_the_share_cap_cannot(
        tiny_pair, tiny_prompts):
    """At 20%, a per-sequence share cap forbids any ask before a sequence's fifth token; the
    point cap spends the point's room on the first step already (the student's first word)."""
    models, _ = tiny_pair
    per_sequence = run(models, tiny_prompts, Always(), Cap("share", 0.2))
    assert not any(o.owners[0] for o in per_sequence)
    assert all(not any(o.owners[:4]) for o in per_sequence)
    pooled = run(models, tiny_prompts, Always(), Cap("point", 0.2), ledger=Ledger())
    assert sum(o.owners[0] for o in pooled) == int(0.2 * len(tiny_prompts))


def test_ownership_counts_add_up(tiny_pair, tiny_prompts):
    models, tokenizer = tiny_pair
    controller = BudgetController(0.3)
    outputs = run(models, tiny_prompts, Threshold("entropy"), Cap("share", 0.3), controller)
    for output in outputs:
        assert len(output.owners) == len(output.token_ids) == output.new_tokens
        assert output.asks == sum(output.owners) <= output.new_tokens
    assert controller.asks == sum(o.asks for o in outputs)
    assert controller.tokens == sum(o.new_tokens for o in outputs)


@pytest.mark.parametrize("target", [0.1, 0.3])
@pytest.mark.parametrize("make", [lambda: Threshold("entropy"), lambda: Threshold("confidence"),
                                  lambda: RandomAsk(seed=5)])
def test_the_online_controller_holds_the_target_share(tiny_pair, tiny_prompts, make, target):
    """Over several batches (one sweep point), the realised share ends within 3 points."""
    models, _ = tiny_pair
    controller = BudgetController(target)
    for batch in range(3):
        run(models, tiny_prompts, make(), Cap("share", target), controller, max_new_tokens=40,
            seed=batch)
    assert controller.tokens >= 600
    assert abs(controller.share - target) <= 0.03


@pytest.mark.parametrize("target", [0.1, 0.2, 0.3])
def test_disagree_under_the_point_cap_fills_its_budget(tiny_pair, tiny_prompts, target):
    """A rule policy has no controller: the point cap alone brings its share to the target when
    it wants more asks than the budget allows (this pair disagrees on most tokens)."""
    models, _ = tiny_pair
    ledger = Ledger()
    for batch in range(2):
        run(models, tiny_prompts, Disagree(), Cap("point", target), ledger=ledger,
            max_new_tokens=40, seed=batch)
    assert target - 0.03 <= ledger.share <= target


def test_teacher_catch_up_gives_the_logits_of_a_full_recompute(tiny_pair, tiny_prompts):
    models, _ = tiny_pair
    written = run(models, tiny_prompts, Never(), max_new_tokens=20)
    generated = torch.full((len(written), 20), models.pad_id)
    for i, output in enumerate(written):
        generated[i, :output.new_tokens] = torch.tensor(output.token_ids)
    active = torch.ones(len(written), dtype=torch.bool)
    kept = LazyTeacher(models.teacher, tiny_prompts, models.pad_id, keep_cache=True)
    fresh = LazyTeacher(models.teacher, tiny_prompts, models.pad_id, keep_cache=False)
    for step in (0, 3, 4, 11, 19):  # gaps of 3, 1, 7 and 8 tokens
        torch.testing.assert_close(kept.logits_at(step, generated, active),
                                   fresh.logits_at(step, generated, active), atol=1e-4, rtol=1e-4)
    assert kept.tokens_read.sum() < fresh.tokens_read.sum()
    assert (kept.tokens_read == torch.tensor([len(p) + 19 for p in tiny_prompts])).all()


def test_sampled_decoding_is_reproducible_and_respects_the_cap(tiny_pair, tiny_prompts):
    models, _ = tiny_pair
    first = run(models, tiny_prompts, RandomAsk(seed=1), Cap("share", 0.25),
                BudgetController(0.25), do_sample=True, temperature=0.8, seed=7)
    again = run(models, tiny_prompts, RandomAsk(seed=1), Cap("share", 0.25),
                BudgetController(0.25), do_sample=True, temperature=0.8, seed=7)
    assert [o.token_ids for o in first] == [o.token_ids for o in again]
    greedy = run(models, tiny_prompts, Never())
    assert [o.token_ids for o in first] != [o.token_ids for o in greedy]
    assert all(not Cap("share", 0.25).violated(o.asks, o.new_tokens) for o in first)


def test_speculative_decoding_equals_the_teachers_greedy_output(tiny_pair, tiny_prompts):
    from engine.wheels.speculative import speculative_generate

    models, _ = tiny_pair
    outputs = speculative_generate(models, tiny_prompts, DecodeOptions(max_new_tokens=MAX_NEW))
    for prompt, output in zip(tiny_prompts, outputs):
        assert output.token_ids == plain_greedy(models.teacher, models, prompt)
        assert 1 <= output.teacher_forwards <= output.new_tokens
        assert output.teacher_tokens >= len(prompt) + output.new_tokens - 1


def test_the_learned_policy_asks_where_the_student_emits_its_ask_token(tiny_pair, tiny_prompts,
                                                                       wheels_pair_dirs, tmp_path):
    """A student with an <ask> token (as part 2 trains one): it is made the student's favourite
    wherever the student would write its commonest token, so it asks there; <ask> itself is
    never written, and without asking the student writes what it wrote before it had <ask>."""
    from collections import Counter

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.wheels.models import load_pair
    from engine.wheels.pair import ASK_TOKEN
    from engine.wheels.policies import Learned

    models, _ = tiny_pair
    before = run(models, tiny_prompts, Never())
    commonest = Counter(t for o in before for t in o.token_ids).most_common(1)[0][0]
    student_dir, teacher_dir = wheels_pair_dirs
    tokenizer = AutoTokenizer.from_pretrained(student_dir)
    tokenizer.add_special_tokens({"additional_special_tokens": [ASK_TOKEN]})
    model = AutoModelForCausalLM.from_pretrained(student_dir)
    model.resize_token_embeddings(len(tokenizer))
    with torch.no_grad():  # tied embeddings: the <ask> row is the output row too
        embeddings = model.get_input_embeddings().weight
        embeddings[-1] = 3 * embeddings[commonest]
    model.save_pretrained(tmp_path / "asker")
    tokenizer.save_pretrained(tmp_path / "asker")
    asker, _ = load_pair(tmp_path / "asker", teacher_dir, dtype="float32", device="cpu")
    assert asker.ask_token_id == len(tokenizer) - 1 == models.vocab_size
    assert [o.token_ids for o in run(asker, tiny_prompts, Never())] == [o.token_ids for o in before]
    outputs = run(asker, tiny_prompts, Learned(asker.ask_token_id))
    assert sum(o.asks for o in outputs) > 0
    assert all(asker.ask_token_id not in o.token_ids for o in outputs)
    capped = run(asker, tiny_prompts, Learned(asker.ask_token_id), Cap("share", 0.1))
    assert all(not Cap("share", 0.1).violated(o.asks, o.new_tokens) for o in capped)
