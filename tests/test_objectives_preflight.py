"""A run with a distillation objective is refused before anything is recorded when its teacher
model is missing or does not share the student's tokenizer."""

from __future__ import annotations

from tests.test_failsafe_preflight import fails_with, prepared, run_count, write_config  # noqa: F401
from undo_tui.cli import main


def distilling(path, student, teacher_model) -> str:
    config = write_config(path, student, 'model = "smollm2"')
    config.write_text(config.read_text()
                      + f'[training]\nobjective = "kd"\nteacher_model = "{teacher_model}"\n')
    return str(config)


def test_a_missing_teacher_model_is_a_preflight_problem(prepared, wheels_pair_dirs, tmp_path,  # noqa: F811
                                                        capsys):
    config = distilling(tmp_path / "run.toml", wheels_pair_dirs[0], tmp_path / "nowhere")
    err = fails_with(capsys, ["--store", str(prepared), "run", config, "--create-only"])
    assert "1 problem(s)" in err
    assert f"training.teacher_model: model '{tmp_path / 'nowhere'}': no such file or directory" in err
    assert run_count(prepared) == 0


def test_a_teacher_with_another_tokenizer_is_a_preflight_problem(prepared, wheels_pair_dirs,  # noqa: F811
                                                                 other_tokenizer_teacher, tmp_path, capsys):
    config = distilling(tmp_path / "run.toml", wheels_pair_dirs[0], other_tokenizer_teacher)
    err = fails_with(capsys, ["--store", str(prepared), "run", config, "--create-only"])
    assert "1 problem(s)" in err and "training.teacher_model: the student and teacher" in err
    assert "'<not-in-the-student>' only in teacher" in err
    assert run_count(prepared) == 0


def test_the_same_tokenizer_passes(prepared, wheels_pair_dirs, tmp_path, capsys):  # noqa: F811
    student, teacher = wheels_pair_dirs
    config = distilling(tmp_path / "run.toml", student, teacher)
    assert main(["--store", str(prepared), "run", config, "--create-only"]) == 0, \
        capsys.readouterr().err
    assert run_count(prepared) == 1
