"""Benchmark of the NTK spectrum (issue 14 §4, docs/derivations/neural_tangent_kernel_spectrum.md).

Density on 1000 points for tanh at p/n = 1.5, N/n = 0.5: the Newton-tracked continuation (the default
path) against the companion-eigenvalue continuation it is checked against (the ratio is the speed-up of
the cheap tracking), and the full public call (support + CDF) as an info row. Run:
``bin/bench neural_tangent_kernel``.
"""

from __future__ import annotations

import numpy as np

from benchmarks import _harness as h
from solvers.neural_tangent_kernel import _law, neural_tangent_kernel_spectrum, ntk_activation_constants

K = ntk_activation_constants(activation="tanh")
LAW = _law(K.mean_derivative**2 / K.theta1, 1.0 - K.mean_derivative**2 / K.theta1, 1 / 1.5, 1 / 0.5)
X = np.linspace(LAW.lower, LAW.scale, 1000)
FRAC = np.arange(61)[:, None] / 60
Y0 = 50 * np.maximum(LAW.scale, X)
ETAS = Y0[None, :] * (1e-10 * LAW.scale / Y0)[None, :] ** FRAC


def _newton():
    return LAW._track(X, ETAS, newton=True)


def _eigen():
    return LAW._track(X, ETAS, newton=False)


def _full_call():
    return neural_tangent_kernel_spectrum(
        activation="tanh", ratio=1.5, neurons_per_sample=0.5, x=np.linspace(0.0, 5.0, 1000)
    )


def run() -> dict:
    rows = []
    try:
        agree = bool(np.allclose(_newton(), _eigen(), rtol=1e-8, atol=0.0))
        timings = h.interleaved_timings({"newton": _newton, "eigen": _eigen}, rounds=5)
        stats = h.summarize(timings["newton"], timings["eigen"])
        rows.append(
            h.entry(
                name="NTK root tracking 1000 pts (tanh, p/n 1.5, N/n 0.5): Newton vs companion eigenvalues",
                ours_seconds=stats["ours_seconds"],
                reference_seconds=stats["reference_seconds"],
                ratio=stats["ratio"],
                target="(info)",
                met=None,
                notes="61 levels of Im z; Newton: 2 steps per level; reference: batched 5x5 eigvals per level.",
                accuracy=f"same root at every point (rtol 1e-8): {agree}",
            )
        )
        full = h.interleaved_timings({"full": _full_call}, rounds=3)["full"]
        result = _full_call()
        rows.append(
            h.entry(
                name="NTK full call 1000 pts (density + support + CDF)",
                ours_seconds=float(np.median(full)),
                reference_seconds=None,
                ratio=None,
                target="(info)",
                met=None,
                notes=f"diagnostics {result.diagnostics}",
            )
        )
    except Exception as exc:
        rows.append(h.failed("NTK density 1000 pts", "(info)", f"{type(exc).__name__}: {exc}"))
    return {"benchmarks": rows}


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(), indent=2, default=str))
