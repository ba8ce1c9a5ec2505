"""Benchmark runner: ``python -m benchmarks [PATTERN ...]`` (``bin/bench`` wraps it).

Discovers every ``benchmarks/bench_*.py``, keeps those whose name contains one of the patterns
(all of them without patterns), runs each module's ``run() -> dict`` in its own subprocess (so a
module that raises, crashes or hangs is reported as failed and the others still run, and no
module's threads, caches or imports skew the next one), prints one table, and writes every row
to ``benchmarks/results.json`` (not committed). The result format is in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks._harness import REPO_ROOT, failed, fmt_seconds

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
DEFAULT_TIMEOUT = float(os.environ.get("RMT_BENCH_MODULE_TIMEOUT", "900"))
ROW_KEYS = ("name", "ours_seconds", "reference_seconds", "ratio", "target", "met", "notes")


def discover(patterns: list[str]) -> list[str]:
    """Module names ``bench_*`` in this folder matching any pattern (substring), sorted."""
    names = sorted(path.stem for path in HERE.glob("bench_*.py"))
    if patterns:
        names = [name for name in names if any(p in name for p in patterns)]
    return names


def run_one_inprocess(module_name: str, out_path: str) -> int:
    """Child side: import the module, call ``run()``, validate, dump the rows to ``out_path``."""
    result: object = None
    try:
        module = importlib.import_module(f"benchmarks.{module_name}")
        result = module.run()
        rows = validate(result)
        status = 0
    except BaseException as error:
        traceback.print_exc()
        why = f"{type(error).__name__}: {error}"
        if isinstance(result, dict):
            why += f" (it returned a dict with keys {sorted(result)[:12]}; kept as 'raw' in results.json)"
        rows = [failed(module_name, "-", why, raw=result) if result is not None else failed(module_name, "-", why)]
        status = 1
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump({"benchmarks": rows}, handle, default=_jsonable)
    return status


def validate(result: object) -> list[dict]:
    """Check the ``run()`` contract: {"benchmarks": [row, ...]} with the keys of ROW_KEYS."""
    if not isinstance(result, dict) or not isinstance(result.get("benchmarks"), list):
        raise TypeError('run() must return {"benchmarks": [ {...}, ... ]}')
    rows = []
    for row in result["benchmarks"]:
        if not isinstance(row, dict):
            raise TypeError(f"each benchmark row must be a dict, got {type(row).__name__}")
        missing = [key for key in ROW_KEYS if key not in row]
        if missing:
            raise TypeError(f"benchmark row {row.get('name', '?')!r} lacks {missing}")
        rows.append({"status": "ok", "accuracy": None, **row})
    return rows


def _jsonable(value: object) -> object:
    """numpy scalars and anything else json does not know become floats or strings."""
    try:
        return float(value)  # type: ignore[arg-type]  # any object is tried; the except below handles what float() refuses
    except (TypeError, ValueError):
        return str(value)


def run_module(module_name: str, timeout: float) -> list[dict]:
    """Parent side: run one module in a child interpreter and collect its rows."""
    with tempfile.TemporaryDirectory(prefix="rmt-bench-") as tmp:
        out_path = os.path.join(tmp, "rows.json")
        started = time.monotonic()
        try:
            subprocess.run(
                [sys.executable, "-m", "benchmarks", "--run-one", module_name, "--out", out_path],
                cwd=REPO_ROOT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return [failed(module_name, "-", f"timed out after {timeout:.0f} s")]
        elapsed = time.monotonic() - started
        if not os.path.exists(out_path):
            return [failed(module_name, "-", "the module's process died without reporting (crash?)")]
        with open(out_path, encoding="utf-8") as handle:
            rows = json.load(handle)["benchmarks"]
    for row in rows:
        row.setdefault("module", module_name)
        row.setdefault("module_seconds", round(elapsed, 1))
    return rows


def fmt_ratio(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, (int, float)) else "-"


def fmt_met(row: dict) -> str:
    if row.get("status") != "ok":
        return row.get("status", "?").upper()
    return {True: "yes", False: "NO", None: "-"}[row.get("met")]


def print_table(rows: list[dict]) -> None:
    headers = ("benchmark", "ours", "reference", "ratio", "target", "met?", "accuracy")
    table = [
        (
            f"{row.get('module', '?').removeprefix('bench_')}: {row['name']}",
            fmt_seconds(row.get("ours_seconds")),
            fmt_seconds(row.get("reference_seconds")),
            fmt_ratio(row.get("ratio")),
            str(row.get("target") or "-"),
            fmt_met(row),
            str(row.get("accuracy") or "-"),
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in table)) if table else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print()
    print(line)
    print("-" * len(line))
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print()
    for index, row in enumerate(rows, 1):
        if row.get("notes"):
            print(f"[{index}] {row.get('module', '?').removeprefix('bench_')}: {row['name']}: {row['notes']}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="run only bench_*.py modules whose name contains one of these")
    parser.add_argument("--list", action="store_true", help="list the matching modules and exit")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds allowed per module")
    parser.add_argument("--json", default=str(RESULTS), help="where to write the results (default %(default)s)")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_one:
        return run_one_inprocess(args.run_one, args.out)

    modules = discover(args.patterns)
    if args.list or not modules:
        print("\n".join(modules) if modules else f"no benchmarks/bench_*.py matches {args.patterns}")
        return 0 if modules else 2
    rows: list[dict] = []
    for module_name in modules:
        print(f"== {module_name}", flush=True)
        rows.extend(run_module(module_name, args.timeout))
    print_table(rows)
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(
            {"generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "benchmarks": rows}, handle, indent=2, default=_jsonable
        )
    print(f"results written to {args.json}")
    return 1 if any(row.get("status") == "failed" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
