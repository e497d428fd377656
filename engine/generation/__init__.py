"""Batch teacher generation: the cache-aware concurrent call runner and the teacher pass on top."""

from engine.generation.calls import CallResult, CallStats, TeacherRequest, run_calls
from engine.generation.keep import KEEP_POLICIES, derivation_problem, keep_decision, split_solution
from engine.generation.progress import Progress
from engine.generation.teacher_pass import (PassItem, PassOptions, PassReport,
                                            run_teacher_pass, source_for, teacher_pass)

__all__ = ["CallResult", "CallStats", "KEEP_POLICIES", "PassItem", "PassOptions", "PassReport",
           "Progress", "TeacherRequest", "derivation_problem", "keep_decision",
           "run_calls", "run_teacher_pass", "source_for", "split_solution", "teacher_pass"]
