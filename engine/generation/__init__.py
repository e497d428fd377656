"""Batch teacher generation: the cache-aware concurrent call runner and the teacher pass on top."""

from engine.generation.calls import CallResult, CallStats, TeacherRequest, run_calls
from engine.generation.keep import KEEP_POLICIES, keep_decision, reject_reason, split_solution
from engine.generation.keep_filter import RULES as KEEP_RULES
from engine.generation.keep_filter import Candidate, derivation_problem, keep_problem
from engine.generation.progress import Progress
from engine.generation.teacher_pass import (PassItem, PassOptions, PassReport,
                                            run_teacher_pass, source_for, teacher_pass)

__all__ = ["Candidate", "CallResult", "CallStats", "KEEP_POLICIES", "KEEP_RULES", "PassItem",
           "PassOptions", "PassReport", "Progress", "TeacherRequest",
           "derivation_problem", "keep_decision", "keep_problem", "reject_reason", "run_calls",
           "run_teacher_pass", "source_for", "split_solution", "teacher_pass"]
