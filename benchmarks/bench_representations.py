"""Benchmark: what CSV and plots (`Accept`, service/representations.py) add to an answer.

The same request answered as JSON, CSV, SVG and PNG through the app in-process (FastAPI's
TestClient), interleaved; ratios are against the JSON answer of the same request in the same run.
A plot is drawn in a worker thread with matplotlib (Agg, fixed margins).

Run: ``python benchmarks/bench_representations.py`` (prints a JSON dict).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from benchmarks._harness import entry, interleaved_timings, summarize
from service.app import create_app
from service.settings import Settings

CASES = {
    "Marchenko–Pastur, 200 points": (
        "/v1/spectra/marchenko-pastur",
        {"ratio": 2.0, "grid": {"start": 0, "stop": 6, "num": 200}},
    ),
    "linear ridge, 15 ratios × 3 penalties": (
        "/v1/predictions/linear-ridge",
        {"ratio": {"start": 0.2, "stop": 3.0, "num": 15}, "ridge_penalty": [0.0, 0.1, 1.0], "noise_variance": 0.25},
    ),
}
TYPES = {"CSV": "text/csv", "SVG": "image/svg+xml", "PNG": "image/png"}
TARGETS = {"CSV": 1.5, "SVG": None, "PNG": None}
#: Interleaved rounds against the JSON answer. A CSV table costs a fraction of a millisecond over a
#: 2–5 ms answer, so its ratio has a target and is measured apart from the plots, in more rounds: with 7
#: rounds shared with the plots its quartiles spanned 1.16–1.67 around a target of 1.5. A plot costs
#: 20–50 times the answer; its ratio is information, and 7 rounds of it take ~10 s.
TABLE_ROUNDS, PLOT_ROUNDS = 31, 7


def run() -> dict:
    database = Path(tempfile.mkdtemp(prefix="rmt-bench-")) / "jobs.sqlite3"
    rows = []
    with TestClient(create_app(Settings(jobs_database=str(database)))) as client:
        for label, (path, body) in CASES.items():

            def call(accept: str, path: str = path, body: dict = body) -> None:
                response = client.post(path, json=body, headers={"Accept": accept})
                assert response.status_code == 200, response.text

            json_answer = lambda: call("application/json")
            table = interleaved_timings({"JSON": json_answer, "CSV": lambda: call(TYPES["CSV"])}, rounds=TABLE_ROUNDS)
            plots = interleaved_timings(
                {"JSON": json_answer, **{name: (lambda a=TYPES[name]: call(a)) for name in ("SVG", "PNG")}},
                rounds=PLOT_ROUNDS,
                min_time=0.05,
            )
            for name in TYPES:
                samples = table if name == "CSV" else plots
                summary = summarize(samples[name], samples["JSON"])
                target = TARGETS[name]
                rows.append(
                    entry(
                        f"{name} answer vs JSON answer: {label}",
                        ours_seconds=summary["ours_seconds"],
                        reference_seconds=summary["reference_seconds"],
                        ratio=summary["ratio"],
                        target="(info)" if target is None else f"<= {target}",
                        met=None if target is None else summary["ratio"] <= target,
                        notes=f"{path} through the app in-process; median of {summary['rounds']} interleaved rounds; "
                        f"quartiles of the ratio {summary['ratio_quartiles'][0]:.3g}–{summary['ratio_quartiles'][1]:.3g}",
                    )
                )
    return {"benchmarks": rows}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
