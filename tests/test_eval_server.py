"""[evaluation] backend = "openai": the student's evaluation answered by a real llama.cpp server
serving the f16 GGUF of `export-model`, stored and graded as the in-process evaluation's.

Tolerance: none for f16 on this model: every answer text equals the in-process float32 one.
"""

from __future__ import annotations

import pytest

import store
from engine.config import config_from_dict
from engine.errors import ConfigError
from engine.loop.preflight import check_run
from tests.fixtures.exported_run import evaluate, record_run, run_config
from tests.fixtures.teacher_fixtures import FaultServer, serve_gguf
from undo_tui.cli import main


def val_predictions(store_path, run_id: int) -> dict[int, tuple]:
    db = store.open_store(store_path)
    try:
        return {p.example_id: (p.output, p.correct, p.answer)
                for p in store.predictions_for(db, run_id, 1, "val")}
    finally:
        db.close()


def served_run(store_path, student_dir, adapter, url: str, name: str, **keys) -> int:
    db = store.open_store(store_path)
    try:
        config = run_config(student_dir, name=name, backend="openai", base_url=url,
                            model="student", **keys)
        return record_run(db, config, adapter)
    finally:
        db.close()


@pytest.fixture(scope="module")
def f16_gguf(trained_run, llama_converter, tmp_path_factory):
    out = tmp_path_factory.mktemp("served") / "student"
    assert main(["--store", str(trained_run.store_path), "export-model", str(trained_run.run_id),
                 "--format", "gguf", "--quant", "f16", "--check-tokens", "4",
                 "--out", str(out)]) == 0
    return out / "exported-f16.gguf"


def test_served_gguf_answers_as_the_in_process_evaluation(trained_run, f16_gguf, tmp_path):
    with serve_gguf(f16_gguf, tmp_path / "server.log") as url:
        run_id = served_run(trained_run.store_path, trained_run.student_dir,
                            trained_run.adapter, url, "served")
        evaluate(trained_run.store_path, run_id)
    in_process = val_predictions(trained_run.store_path, trained_run.run_id)
    served = val_predictions(trained_run.store_path, run_id)
    assert len(in_process) == 6
    assert served == in_process
    # resume: nothing missing, so nothing is asked of the (now stopped) server
    evaluate(trained_run.store_path, run_id)
    assert val_predictions(trained_run.store_path, run_id) == served


def test_a_429_is_retried_and_only_missing_answers_are_asked(trained_run, monkeypatch):
    monkeypatch.setenv("EVAL_SERVER_KEY", "sk-eval-secret")
    server = FaultServer().start()
    try:
        run_id = served_run(trained_run.store_path, trained_run.student_dir,
                            trained_run.adapter, server.url, "faulty", concurrency=2,
                            retry_backoff_s=0.01, retry_backoff_max_s=0.01,
                            api_key_env="EVAL_SERVER_KEY")
        db = store.open_store(trained_run.store_path)
        examples = store.load_examples(db, store.get_dataset(db, "arith").id, "val")
        db.execute("UPDATE examples SET question = question || ' [429x1]' WHERE id = ?",
                   [examples[0].id])
        db.commit()
        db.close()
        evaluate(trained_run.store_path, run_id)
        assert server.hits_for("[429x1]") == 2  # refused once, answered on the retry
        assert server.total == 7
        assert all(body["temperature"] == 0.0 and body["max_tokens"] == 12
                   and body["repeat_penalty"] == 1.0  # llama.cpp's server: 1.1 unless told
                   and body["model"] == "student" for body in server.bodies)
        predictions = val_predictions(trained_run.store_path, run_id)
        assert len(predictions) == 6 and all(p[2] == "5" for p in predictions.values())
        db = store.open_store(trained_run.store_path)
        db.execute("DELETE FROM predictions WHERE run_id = ? AND example_id = ?",
                   [run_id, examples[1].id])
        db.commit()
        db.close()
        evaluate(trained_run.store_path, run_id)
        assert server.total == 8  # only the missing one
        assert set(server.auth_headers) == {"Bearer sk-eval-secret"}
        assert b"sk-eval-secret" not in trained_run.store_path.read_bytes()
    finally:
        server.stop()
        db = store.open_store(trained_run.store_path)
        db.execute("UPDATE examples SET question = replace(question, ' [429x1]', '')")
        db.commit()
        db.close()


@pytest.mark.parametrize("evaluation, says", [
    ({"backend": "openai"}, "needs base_url and model"),
    ({"backend": "openai", "base_url": "127.0.0.1:8000", "model": "m"},
     "must start with http:// or https://"),
    ({"base_url": "http://127.0.0.1:8000/v1"}, 'read only with backend = "openai"'),
    ({"backend": "openai", "base_url": "http://h/v1", "model": "m", "api_key_env": "sk-1 2"},
     "NAME of an environment variable"),
    ({"request_extra": {"top_k": 1}}, 'request_extra: read only with backend = "openai"'),
])
def test_bad_server_keys_are_refused_by_name(tmp_path, evaluation, says):
    config = run_config(tmp_path)
    config["evaluation"].update(evaluation)
    with pytest.raises(ConfigError, match="evaluation") as error:
        config_from_dict(config, source="run.toml")
    assert says in str(error.value)


def test_preflight_names_an_evaluation_server_that_does_not_answer(trained_run):
    from tests.fixtures.teacher_fixtures import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    config = config_from_dict(run_config(trained_run.student_dir, backend="openai",
                                         base_url=url, model="student-{iteration}"))
    assert config.evaluation.server_config(2).model == "student-2"
    db = store.open_store(trained_run.store_path)
    try:
        problems = check_run(db, trained_run.store_path, config)
    finally:
        db.close()
    assert [p for p in problems if p.startswith("evaluation:")] == [
        f"evaluation: {url} does not answer (ConnectError); is the server running and "
        "base_url right?"]
