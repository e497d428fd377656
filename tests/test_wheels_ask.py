"""Training Wheels part 2's warm start on the tiny same-tokenizer pair: the `<ask>` token,
deferral labels per stated budget, and a student that learns to ask more when allowed more."""

from __future__ import annotations

import pytest
import torch

from engine.student.data import IGNORE
from engine.wheels.ask_token import add_ask_token
from engine.wheels.ask_training import (AskTraining, ask_features, build_references,
                                        train_asker)
from engine.wheels.budget import Cap
from engine.wheels.decoding import DecodeOptions, Models, assisted_generate
from engine.wheels.deferral import ask_positions, teacher_forced_margins
from engine.wheels.pair import ASK_TOKEN
from engine.wheels.policies import Learned
from tests.fixtures.model_fixtures import TINY_EXAMPLES
from tests.test_wheels_sweep import wheels_store  # noqa: F401  (a fixture)

SENTENCE = "You may ask the teacher for at most {percent}% of the tokens."
LEVELS = (0.0, 0.1, 0.2, 0.4)


def load_student(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32),
            AutoTokenizer.from_pretrained(path))


def test_the_ask_token_is_new_after_the_shared_vocabulary_and_starts_at_the_mean(
        wheels_pair_dirs, tmp_path):
    from engine.wheels.models import load_pair

    student_dir, teacher_dir = wheels_pair_dirs
    model, tokenizer = load_student(student_dir)
    shared = len(tokenizer)
    mean = model.get_input_embeddings().weight[:shared].mean(dim=0).detach().clone()
    ask_id = add_ask_token(model, tokenizer)
    assert ask_id == shared and tokenizer.convert_ids_to_tokens(ask_id) == ASK_TOKEN
    torch.testing.assert_close(model.get_input_embeddings().weight[ask_id], mean)
    assert add_ask_token(model, tokenizer) == ask_id  # a second call adds nothing
    assert model.get_input_embeddings().weight.shape[0] == ask_id + 1
    model.save_pretrained(tmp_path / "asker")
    tokenizer.save_pretrained(tmp_path / "asker")
    models, _ = load_pair(tmp_path / "asker", teacher_dir, dtype="float32", device="cpu")
    assert models.ask_token_id == ask_id and models.vocab_size == shared


def test_margins_are_positive_exactly_where_the_greedy_tokens_differ(tiny_pair):
    models, tokenizer = tiny_pair
    (reference,) = build_references(TINY_EXAMPLES[:1], tokenizer, [0.0], SENTENCE)
    prompt = reference.teacher_prompt  # the prompt both were made to agree on (60% of tokens)
    margins = teacher_forced_margins(models, prompt, reference.teacher_prompt,
                                     reference.continuation)
    assert margins.shape == (len(reference.continuation),)
    ids = torch.tensor([prompt + reference.continuation])
    with torch.inference_mode():
        student = models.student(input_ids=ids).logits[0, len(prompt) - 1:-1]
    ids = torch.tensor([reference.teacher_prompt + reference.continuation])
    with torch.inference_mode():
        teacher = models.teacher(input_ids=ids).logits[0, len(reference.teacher_prompt) - 1:-1]
    differ = student.argmax(-1) != teacher.argmax(-1)
    assert 0 < int(differ.sum()) < len(differ)  # the pair disagrees somewhere, not everywhere
    assert ((margins > 0) == differ).all()
    # the margin of one differing position, by hand
    j = int(differ.nonzero()[0])
    logp = torch.log_softmax(teacher[j].float(), dim=-1)
    expected = logp.max() - logp[student[j].argmax()]
    torch.testing.assert_close(margins[j], expected)
    same = Models(student=models.teacher, teacher=models.teacher, vocab_size=models.vocab_size,
                  eos_ids=models.eos_ids, pad_id=models.pad_id)
    assert (teacher_forced_margins(same, reference.teacher_prompt, reference.teacher_prompt,
                                   reference.continuation) == 0).all()


def test_ask_positions_keep_the_levels_share_by_margin_or_by_order():
    margins = torch.tensor([0.0, 2.0, 0.5, 0.0, 3.0, 1.0])
    assert ask_positions(margins, 0.5, "margin") == [1, 4, 5]  # the three largest margins
    assert ask_positions(margins, 0.5, "disagree") == [1, 2, 4]  # the three first disagreements
    assert ask_positions(margins, 0.0, "margin") == []
    assert ask_positions(margins, 0.34, "margin") == [1, 4]  # floor(0.34 x 6) = 2
    assert ask_positions(margins, 1.0, "margin") == [1, 2, 4, 5]  # never where they agree
    with pytest.raises(ValueError, match="labelling must be one of"):
        ask_positions(margins, 0.5, "entropy")


def test_features_label_asks_per_level_and_never_put_ask_in_the_context(tiny_pair):
    models, tokenizer = tiny_pair
    ask_id = models.vocab_size  # where add_ask_token puts it
    references = build_references(TINY_EXAMPLES[:4], tokenizer, LEVELS, SENTENCE)
    built = ask_features(models, ask_id, references, LEVELS, "margin")
    assert len(built.features) == 4 * len(LEVELS)
    assert built.asks[0.0] == 0 and built.asks[0.1] < built.asks[0.2] < built.asks[0.4]
    for index, feature in enumerate(built.features):
        reference, level = references[index // len(LEVELS)], LEVELS[index % len(LEVELS)]
        prompt = reference.student_prompts[level]
        assert feature["input_ids"] == prompt + reference.continuation
        assert ask_id not in feature["input_ids"]
        assert feature["labels"][:len(prompt)] == [IGNORE] * len(prompt)
        targets = feature["labels"][len(prompt):]
        asked = [j for j, target in enumerate(targets) if target == ask_id]
        assert len(asked) <= int(level * len(targets) + 1e-9)
        assert all(targets[j] == reference.continuation[j]
                   for j in range(len(targets)) if j not in asked)
    assert sum(built.asks.values()) == sum(
        f["labels"].count(ask_id) for f in built.features)


def asks_under_teacher_forcing(model, reference, level, ask_id) -> int:
    prompt = reference.student_prompts[level]
    ids = torch.tensor([prompt + reference.continuation])
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0, len(prompt) - 1:-1]
    return int((logits.argmax(-1) == ask_id).sum())


def test_a_trained_asker_asks_where_labelled_and_more_at_a_higher_stated_budget(
        tiny_pair, wheels_pair_dirs, tmp_path):
    from engine.wheels.models import load_pair

    models, tokenizer = tiny_pair
    student_dir, teacher_dir = wheels_pair_dirs
    model, own_tokenizer = load_student(student_dir)
    ask_id = add_ask_token(model, own_tokenizer)
    references = build_references(TINY_EXAMPLES, tokenizer, LEVELS, SENTENCE)
    built = ask_features(models, ask_id, references, LEVELS, "margin")
    before = [asks_under_teacher_forcing(model, r, 0.4, ask_id) for r in references]
    losses = train_asker(model, own_tokenizer, built.features, tmp_path / "asker",
                         AskTraining(epochs=20, lr=3e-3, batch_size=8)).losses
    assert losses[-1] < losses[0]
    assert sum(before) == 0  # the mean row starts as an ordinary token, never the argmax
    counts = {level: sum(asks_under_teacher_forcing(model, r, level, ask_id) for r in references)
              for level in LEVELS}
    assert counts[0.0] < counts[0.1] <= counts[0.2] <= counts[0.4]
    assert counts[0.4] >= built.asks[0.4] // 2  # it learned most of its labels
    # the saved student pairs with its teacher and runs as the `learned` policy, under the cap
    asker, _ = load_pair(tmp_path / "asker", teacher_dir, dtype="float32", device="cpu")
    prompts = [r.student_prompts[0.4] for r in references]
    outputs = assisted_generate(asker, prompts, [r.teacher_prompt for r in references],
                                Learned(asker.ask_token_id), Cap("share", 0.4),
                                DecodeOptions(max_new_tokens=24))
    assert sum(o.asks for o in outputs) > 0
    for output in outputs:
        assert not Cap("share", 0.4).violated(output.asks, output.new_tokens)
        assert asker.ask_token_id not in output.token_ids


def test_teach_ask_makes_a_student_the_sweeps_learned_policy_runs(wheels_store, wheels_pair_dirs,
                                                                  tmp_path):
    """The CLI end to end: teach-ask on the sweep config's training split (the warm start, then
    two constrained PCL steps), then a sweep of the `learned` policy with that student, its
    budget stated and capped."""
    import json

    import store
    from store import wheels as store_wheels
    from tests.test_wheels_sweep import cli, sweep_toml

    student, teacher = wheels_pair_dirs
    config = sweep_toml(tmp_path / "t.toml", student, teacher,
                        distill={"data": "gold", "split": "train"})
    out = tmp_path / "asker"
    taught = cli(wheels_store, "wheels", "teach-ask", str(config), "--out", str(out),
                 "--levels", "0,20,40", "--epochs", "2", "--lr", "1e-3", "--pcl-steps", "2",
                 "--rollouts", "1", "--max-new-tokens", "8", "--eta", "0.5")
    assert taught.returncode == 0, taught.stderr
    assert "labelling 2 gold continuations at budgets 0%, 20%, 40% (margin)" in taught.stdout
    assert f"student that asks -> {out}" in taught.stdout
    assert "[teach-ask] 1/" in taught.stdout  # training reports its steps
    assert "[teach-ask pcl] 1/2 · loss " in taught.stdout and "[teach-ask pcl] 2/2" in taught.stdout
    metrics = json.loads((out / "pcl_metrics.json").read_text())
    assert [m["step"] for m in metrics] == [1, 2]
    for level in ("0", "20", "40"):
        assert all(m[f"lambda_{level}"] >= 0 and 0 <= m[f"usage_{level}"] <= 1 for m in metrics)
    assert all(m["tokens"] > 0 and m["residual_ms"] > 0 for m in metrics)
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".asker.tmp")]
    learned = sweep_toml(tmp_path / "l.toml", out, teacher,
                         sweep={"policies": ["learned"], "budgets": [20]})
    swept = cli(wheels_store, "wheels", "sweep", str(learned))
    assert swept.returncode == 0, swept.stderr
    db = store.open_store(wheels_store)
    (point,) = store_wheels.list_points(db, store.list_runs(db)[0].run.id)
    assert point.label == "learned 20%" and point.status == "done" and point.violations == 0
    db.close()
    again = cli(wheels_store, "wheels", "teach-ask", str(config), "--out", str(out))
    assert again.returncode != 0 and "not empty" in again.stderr
    assert "Traceback" not in again.stderr
    bad = cli(wheels_store, "wheels", "teach-ask", str(config), "--out", str(tmp_path / "n"),
              "--levels", "0,ten")
    assert bad.returncode != 0 and "--levels '0,ten'" in bad.stderr
    assert "Traceback" not in bad.stderr
