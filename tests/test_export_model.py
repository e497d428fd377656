"""`undo-tui export-model` end to end on the tiny Llama: a real LoRA adapter merged by peft, the
HF directory reloaded by transformers, llama.cpp's converter, the GGUF loaded by llama.cpp."""

from __future__ import annotations

import json
import re

import pytest

import store
from engine.export_model.modelfile import build_modelfile
from engine.grading.stats import wilson_interval
from store import distill as store_distill
from tests.fixtures.exported_run import QUESTIONS, record_run, run_config
from undo_tui.cli import main


def greedy_texts(model, tokenizer, questions):
    from engine.student.generation import generate_with_model

    return [o.text for o in generate_with_model(model, tokenizer, questions, 16, batch_size=4)]


def val_questions(trained_run) -> list[str]:
    db = store.open_store(trained_run.store_path)
    try:
        return [e.question for e in store.load_examples(db, store.get_dataset(db, "arith").id,
                                                        "val")]
    finally:
        db.close()


@pytest.fixture(scope="module")
def gguf_export(trained_run, llama_converter, tmp_path_factory):
    out = tmp_path_factory.mktemp("gguf-export") / "student"
    code = main(["--store", str(trained_run.store_path), "export-model", str(trained_run.run_id),
                 "--format", "gguf", "--quant", "f16,q8_0", "--check-tokens", "16",
                 "--out", str(out)])
    assert code == 0
    return out


def test_hf_export_answers_as_base_plus_adapter(trained_run, tmp_path, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.student.generation import load_student

    out = tmp_path / "hf"
    assert main(["--store", str(trained_run.store_path), "export-model", "exported",
                 "--format", "hf", "--out", str(out)]) == 0
    assert f"hf model:  {out}" in capsys.readouterr().out
    assert not (out / "adapter_config.json").exists()
    questions = val_questions(trained_run)
    exported = AutoModelForCausalLM.from_pretrained(out).eval()
    merged, tokenizer = load_student(trained_run.student_dir, trained_run.adapter,
                                     dtype="float32", device="cpu")
    base, _ = load_student(trained_run.student_dir, dtype="float32", device="cpu")
    expected = greedy_texts(merged, tokenizer, questions)
    assert greedy_texts(exported, AutoTokenizer.from_pretrained(out), questions) == expected
    assert greedy_texts(base, tokenizer, questions) != expected  # the adapter is in there
    generation = json.loads((out / "generation_config.json").read_text())
    assert tokenizer.eos_token_id in generation["eos_token_id"]
    assert generation["do_sample"] is False


def test_model_card_has_accuracy_with_n_and_interval_and_the_config(trained_run, tmp_path):
    out = tmp_path / "hf"
    assert main(["--store", str(trained_run.store_path), "export-model", "exported",
                 "--iteration", "1", "--format", "hf", "--out", str(out)]) == 0
    card = (out / "README.md").read_text()
    db = store.open_store(trained_run.store_path)
    score = store.score(db, trained_run.run_id, 1, "val")
    db.close()
    assert score.total == QUESTIONS
    low, high = wilson_interval(score.correct, score.total)
    assert (f"| val | {score.correct / score.total:.1%} ({score.correct}/{QUESTIONS}) | "
            f"{QUESTIONS} | {low:.1%} – {high:.1%} |") in card
    assert "LoRA adapter merged" in card and "Teacher: `smollm2`" in card
    assert "Data: arith (builtin:arith)" in card
    assert '"max_new_tokens": 12' in card  # the run config


def test_gguf_f16_answers_exactly_as_the_hf_model(gguf_export, capsys):
    card = (gguf_export / "README.md").read_text()
    checks = [line for line in card.splitlines() if "greedy outputs identical" in line]
    assert len(checks) == 2
    prompts = 2 * QUESTIONS  # val first, then train, up to 20
    assert f"f16: {prompts}/{prompts} greedy outputs identical" in checks[0]
    assert f"prompt tokenization identical {prompts}/{prompts}" in checks[0]
    assert re.match(rf"- q8_0: \d+/{prompts} greedy outputs identical", checks[1])  # reported
    assert (gguf_export / "exported-f16.gguf").read_bytes()[:4] == b"GGUF"
    assert (gguf_export / "exported-q8_0.gguf").stat().st_size < \
        (gguf_export / "exported-f16.gguf").stat().st_size
    assert (gguf_export / "hf" / "config.json").is_file()


def test_gguf_runs_in_llama_cpp_like_the_hf_export(gguf_export, trained_run):
    """Independent of the export's own check: a few prompts through llama.cpp's child."""
    from engine.export_model.gguf_check import hf_reference, llama_greedy

    reference = hf_reference(gguf_export / "hf", val_questions(trained_run)[:3], None, 12)
    result = llama_greedy(gguf_export / "exported-f16.gguf", reference)
    assert result["outputs"] == reference.outputs
    assert any(reference.outputs)


def test_modelfile_carries_the_chatml_template_and_stops(gguf_export):
    text = (gguf_export / "exported-f16.Modelfile").read_text()
    assert "FROM ./exported-f16.gguf" in text
    assert ('TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}'
            '<|im_end|>\n{{ end }}<|im_start|>assistant\n"""') in text
    assert 'PARAMETER stop "<|im_end|>"' in text and 'PARAMETER stop "<|im_start|>"' in text
    # SmolLM2's template writes a default system turn; the Modelfile keeps it
    assert 'SYSTEM """You are a helpful AI assistant named SmolLM' in text


def test_modelfile_of_another_template_says_it_is_unsupported():
    modelfile = build_modelfile("m-f16.gguf", "{{ bos_token }}[INST] {{ messages }}", "</s>",
                                "Be brief.")
    assert modelfile.family is None
    assert "TEMPLATE" not in modelfile.text.replace("sets no TEMPLATE", "")
    assert 'PARAMETER stop "</s>"' in modelfile.text and 'SYSTEM """Be brief."""' in modelfile.text


def test_missing_converter_is_named_and_nothing_is_written(trained_run, tmp_path, monkeypatch,
                                                           capsys):
    monkeypatch.setenv("UNDO_TUI_LLAMA_CONVERTER", str(tmp_path / "nowhere"))
    out = tmp_path / "out"
    assert main(["--store", str(trained_run.store_path), "export-model", "exported",
                 "--format", "gguf", "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert "UNDO_TUI_LLAMA_CONVERTER" in err and str(tmp_path / "nowhere") in err
    assert "Traceback" not in err and not out.exists()


def test_a_distilled_student_is_copied_with_its_accuracy(trained_run, tmp_path, tiny_llama_dir):
    db = store.open_store(trained_run.store_path)
    try:
        run_id = store.create_run(db, "distilled", {"distill": {"student": "tiny"}},
                                  kind="distill", teacher="smollm2")
        store_distill.set_student(db, run_id, str(tiny_llama_dir))
        store_distill.save_outcome(db, run_id, {"eval_split": "test", "n": 8, "correct": 3},
                                   {})
    finally:
        db.close()
    out = tmp_path / "distilled"
    assert main(["--store", str(trained_run.store_path), "export-model", str(run_id),
                 "--format", "hf", "--out", str(out)]) == 0
    assert (out / "model.safetensors").read_bytes() == \
        (tiny_llama_dir / "model.safetensors").read_bytes()
    low, high = wilson_interval(3, 8)
    assert f"| test | 37.5% (3/8) | 8 | {low:.1%} – {high:.1%} |" in (out / "README.md").read_text()


def test_a_run_without_a_trained_iteration_is_refused(trained_run, tmp_path, capsys):
    db = store.open_store(trained_run.store_path)
    try:
        run_id = record_run(db, run_config(trained_run.student_dir, name="untrained"))
    finally:
        db.close()
    assert main(["--store", str(trained_run.store_path), "export-model", "untrained",
                 "--format", "hf", "--out", str(tmp_path / "x")]) != 0
    assert f"run {run_id} has no best iteration yet" in capsys.readouterr().err
