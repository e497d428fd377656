"""The typed run configuration: one pydantic model per TOML table, parsed once at the edge.

    config = load_config("run.toml")   # ConfigError: "run.toml: loop.keep: 'most' is not ..."
    config.teacher.concurrency         # typed all the way to the code that uses it

Tables: [run] [dataset] [student] [evaluation] [prompts] [loop] (sections.py), [teacher] (a
union on `backend`, teacher.py), [training] (training.py), all under RunConfig (run.py). A run
stores `config.model_dump(mode="json")`; stages load it back with `stored_config(run)`.
"""

from engine.config.files import config_from_dict, load_config, read_toml, teacher_from_dict
from engine.config.run import RunConfig
from engine.config.stored import stored_config, upgrade
from engine.config.teacher import (BACKENDS, LlamaCppTeacherConfig, OpenAITeacherConfig,
                                   TeacherConfig)
from engine.config.training import TrainConfig

__all__ = ["BACKENDS", "LlamaCppTeacherConfig", "OpenAITeacherConfig", "RunConfig",
           "TeacherConfig", "TrainConfig", "config_from_dict", "load_config", "read_toml",
           "stored_config", "teacher_from_dict", "upgrade"]
