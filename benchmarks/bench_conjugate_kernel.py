"""Benchmark of the conjugate-kernel spectrum (issue 5 §5, docs/methods/conjugate_kernel.md §3).

Density on 1000 points for tanh at N:n:p = 1500:2000:1000 (a row of the table of docs/methods/conjugate_kernel.md §3): the time of the
density path (continuation in Im z over 1000 points, no CDF) and of the full public call (support
from the discriminant + CDF), their ratio, and the largest relative residual |P(G)|/Σ|c_k G^k| of
the quartic at the returned roots. The reference side of the ratio is the density path itself
(info rows: no competitor implements this law). Run: ``bin/bench conjugate_kernel``.
"""

from __future__ import annotations

import numpy as np

from benchmarks import _harness as h
from solvers.conjugate_kernel import _law, conjugate_kernel_spectrum

X = np.linspace(1e-3, 3.0, 1000)
ARGS = dict(activation="tanh", ratio=0.5, neurons_per_sample=0.75, matrix="features")


def _density_path():
    law = _law.__wrapped__(0.366879164362411 / 0.394294490397841, 0.5, 0.75)  # uncached: no reuse across calls
    return law.density(X / 0.394294490397841)


def _full_call():
    _law.cache_clear()
    return conjugate_kernel_spectrum(x=X, **ARGS)


def run() -> dict:
    rows = []
    try:
        result = _full_call()
        _, diag, _ = _density_path()
        timings = h.interleaved_timings({"density": _density_path, "full": _full_call}, rounds=5)
        stats = h.summarize(timings["full"], timings["density"])
        rows.append(
            h.entry(
                name="CK density 1000 pts (tanh, 1500/2000/1000): full call vs density path",
                ours_seconds=stats["ours_seconds"],
                reference_seconds=stats["reference_seconds"],
                ratio=stats["ratio"],
                target="(info)",
                met=None,
                notes=f"density path = 45+ continuation levels of batched 4x4 eigvals + Newton; full call adds support "
                f"(discriminant) and CDF (Chebyshev). Roots converged: {diag.converged}; full-call diagnostics {result.diagnostics}.",
                accuracy=f"max relative quartic residual {diag.residual:.1e} (density path), {result.diagnostics.residual:.1e} (full call)",
            )
        )
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
        rows.append(h.failed("CK density 1000 pts", "(info)", f"{type(exc).__name__}: {exc}"))
    return {"benchmarks": rows}


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(), indent=2, default=str))
