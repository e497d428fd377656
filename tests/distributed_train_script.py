"""Run by the distributed tests under torchrun: trains the tiny student with train_student and
writes rank 0's loss curve (and the token count) to a JSON file. argv: model_dir out_json
batch_size [overrides as JSON]."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.student import ranks
from engine.student.training import train_student
from tests.fixtures.model_fixtures import TINY_EXAMPLES, TinyStudent


def main() -> None:
    model_dir, out, batch_size = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    if ranks.launched():
        ranks.init(60)
    overrides = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    config = TinyStudent(model_dir).config(batch_size=batch_size, epochs=2, **overrides)
    result = train_student(model_dir, TINY_EXAMPLES[:7], out.parent / "student", config)
    if ranks.is_lead():
        out.write_text(json.dumps({"losses": result.losses, "tokens": result.tokens,
                                   "steps": result.steps}))
    ranks.finish()


if __name__ == "__main__":
    main()
