"""The prompts each model reads. They may differ (the teacher its few-shot template, the student
the bare question it was trained on): the two share only the continuation, token for token."""

from __future__ import annotations

from engine.prompts.fields import prompt_fields
from engine.prompts.templates import load_template
from engine.student.prompting import prompt_token_ids
from engine.wheels.config import SweepConfig
from engine.wheels.points import Prompts

QUESTION = "question"


def build_prompts(examples, tokenizer, config: SweepConfig, answer_type: str,
                  budget: float | None = None) -> Prompts:
    """Token ids per example; a `learned` student is told its budget (percent) in its prompt."""
    system = config.prompts.system or None
    if budget is not None:
        sentence = config.prompts.budget_sentence.format(percent=f"{budget:g}")
        system = f"{system}\n{sentence}" if system else sentence
    return Prompts(
        student=[_prompt(e, tokenizer, config.prompts.student, config, answer_type, system)
                 for e in examples],
        teacher=[_prompt(e, tokenizer, config.prompts.teacher, config, answer_type, None)
                 for e in examples])


def _prompt(example, tokenizer, name: str, config: SweepConfig, answer_type: str,
            system: str | None) -> list[int]:
    if name == QUESTION:
        return prompt_token_ids(example.question, tokenizer, system)
    template = load_template(name, config.prompts.dir or None)
    messages = template.render(prompt_fields(example, answer_type), system_prompt=system)
    return prompt_token_ids(messages, tokenizer)
