"""Prompt templates shipped as versioned text files (`<name>.v<N>.txt`), overridable per run.

Packaged: `initial` (first rationale, one-shot), `refine_full` (shows the student's whole
reasoning), `refine_answer_only` (says only that the final answer was wrong or right), `hinted`
(tells the teacher the gold answer). Every template asks for a last line `Answer: <value>`, which
the grader's `answer_line` rule reads.
"""

from engine.prompts.fields import (ANSWER_FORMATS, StudentAttempt, StudentError, format_choices,
                                   format_errors, prompt_fields)
from engine.prompts.templates import (FIELDS, PACKAGED_DIR, PromptError, PromptTemplate,
                                      load_template, parse_template)

TEMPLATE_NAMES = ("initial", "refine_full", "refine_answer_only", "hinted")

__all__ = ["ANSWER_FORMATS", "FIELDS", "PACKAGED_DIR", "PromptError", "PromptTemplate",
           "StudentAttempt", "StudentError", "TEMPLATE_NAMES", "format_choices", "format_errors",
           "load_template", "parse_template", "prompt_fields"]
