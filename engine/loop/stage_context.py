"""What every stage needs about its run: config, dataset, the examples of each split, paths."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import store
from engine.config import RunConfig, stored_config


@dataclass
class StageContext:
    db: object
    store_path: Path
    run: store.Run
    config: RunConfig
    dataset: store.Dataset
    k: int

    @classmethod
    def load(cls, store_path: Path, run_id: int, k: int) -> StageContext:
        db = store.open_store(store_path)
        run = store.get_run(db, run_id)
        dataset = store.get_dataset(db, run.dataset_id)
        return cls(db, Path(store_path), run, stored_config(run), dataset, k)

    def examples(self, split: str, include_excluded: bool = True) -> list[store.Example]:
        """A split's examples in stable id order, cut to the configured limit."""
        name = {"train": self.config.dataset.train_split, "val": self.config.dataset.val_split,
                "test": self.config.dataset.test_split}[split]
        limit = {"train": self.config.dataset.train_limit, "val": self.config.dataset.val_limit,
                 "test": self.config.dataset.test_limit}[split]
        if not name:
            return []
        rows = store.load_examples(self.db, self.dataset.id, name, limit=limit or None)
        if include_excluded:
            return rows
        excluded = store.excluded_ids(self.db, self.dataset.id)
        return [e for e in rows if e.id not in excluded]

    def run_dir(self) -> Path:
        return self.store_path.resolve().parent / "runs" / f"run-{self.run.id}"

    def checkpoint_dir(self, k: int) -> Path:
        return self.run_dir() / f"iter-{k}" / "student"

    def stop_checker(self, every_s: float = 0.5):
        """should_stop() for long loops: reads the store's stop flag at most every `every_s`."""
        state = {"at": 0.0, "value": False}

        def should_stop() -> bool:
            now = time.monotonic()
            if not state["value"] and now - state["at"] >= every_s:
                state["at"] = now
                state["value"] = store.stop_requested(self.db, self.run.id)
            return state["value"]

        return should_stop

    def progress_reporter(self, stage: str, every_s: float = 0.5):
        """progress(dict) that writes a throttled 'progress' event (and always the last one),
        with the seconds since this stage started (`elapsed_s`)."""
        state = {"at": 0.0, "start": time.monotonic()}

        def progress(info: dict) -> None:
            now = time.monotonic()
            info = {**info, "elapsed_s": round(now - state["start"], 1)}
            done, total = info.get("done", info.get("step")), info.get("total",
                                                                        info.get("total_steps"))
            final = done is not None and total is not None and done >= total
            if not final and now - state["at"] < every_s:
                return
            state["at"] = now
            store.add_event(self.db, self.run.id, "progress", stage=stage, iteration=self.k,
                            done=done, total=total, data=info)

        return progress
