"""Benchmarks of the kernel spec (issue 14 §1–§3): evaluating a kernel, the kernel-matrix spectrum, kernel ridge.

* RBF kernel matrix, n = 1000, p = 500: ``solvers.kernels.kernel_matrix`` against the direct numpy
  expression exp(−(‖x_i‖² + ‖x_j‖² − 2x_iᵀx_j)/(p h²)) (what scikit-learn's ``rbf_kernel`` computes).
* Limiting spectrum on 1000 points (rbf, isotropic, c = 1.5) against one ``eigvalsh`` of the
  1000 × 1000 kernel matrix it predicts (info: the simulation it replaces).
* Kernel ridge prediction on 100 ratios × 100 penalties (info).
Run: ``bin/bench kernels``.
"""

from __future__ import annotations

import numpy as np

from benchmarks import _harness as h
from solvers.kernel_ridge import kernel_ridge_risk
from solvers.kernel_spectrum import kernel_matrix_spectrum
from solvers.kernels import kernel_matrix, make_kernel

RNG = np.random.default_rng(0)
X = RNG.standard_normal((1000, 500))
RBF = make_kernel("rbf", bandwidth=1.0)
POINTS = np.linspace(0.0, 1.6, 1000)


def _ours():
    return kernel_matrix(kernel=RBF, x=X).kernel


def _direct():
    norms = np.einsum("ij,ij->i", X, X)
    distance = norms[:, None] + norms[None, :] - 2.0 * (X @ X.T)
    return np.exp(-np.maximum(distance, 0.0) / X.shape[1])


def _spectrum():
    return kernel_matrix_spectrum(kernel=RBF, ratio=1.5, x=POINTS, n_samples=1000)


def _eigvalsh():
    return np.linalg.eigvalsh(kernel_matrix(kernel=RBF, x=RNG.standard_normal((1000, 1500))).kernel)


def _ridge():
    return kernel_ridge_risk(
        kernel=RBF,
        ratio=np.linspace(0.1, 5.0, 100),
        ridge_penalty=np.linspace(0.0, 0.01, 100),
        n_samples=1000,
        signal_strength=1.0,
        noise_variance=0.25,
    )


def run() -> dict:
    rows = []
    try:
        error = float(np.max(np.abs(_ours() - _direct())))
        timings = h.interleaved_timings({"ours": _ours, "direct": _direct}, rounds=5)
        stats = h.summarize(timings["ours"], timings["direct"])
        rows.append(
            h.entry(
                name="RBF kernel matrix 1000 x 500: kernel_matrix vs the direct numpy expression",
                ours_seconds=stats["ours_seconds"],
                reference_seconds=stats["reference_seconds"],
                ratio=stats["ratio"],
                target="(info)",
                met=None,
                accuracy=f"max |difference| {error:.1e}",
                notes="ours also symmetrises and sets the diagonal exactly to f(0)",
            )
        )
    except Exception as exc:
        rows.append(h.failed("RBF kernel matrix 1000 x 500", "(info)", f"{type(exc).__name__}: {exc}"))
    try:
        timings = h.interleaved_timings({"spectrum": _spectrum, "eig": _eigvalsh}, rounds=3)
        stats = h.summarize(timings["spectrum"], timings["eig"])
        rows.append(
            h.entry(
                name="kernel-matrix spectrum, 1000 points (rbf, c = 1.5) vs one simulated 1000 x 1000 spectrum",
                ours_seconds=stats["ours_seconds"],
                reference_seconds=stats["reference_seconds"],
                ratio=stats["ratio"],
                target="(info)",
                met=None,
                notes="MP closed form after El Karoui's linearisation; the reference draws, evaluates and diagonalises K",
            )
        )
        timings = h.interleaved_timings({"ridge": _ridge}, rounds=3)
        rows.append(
            h.entry(
                name="kernel ridge, 100 ratios x 100 penalties (rbf)",
                ours_seconds=float(np.median(timings["ridge"])),
                reference_seconds=None,
                ratio=None,
                target="(info)",
                met=None,
                notes="one closed-form linear-ridge call per ratio",
            )
        )
    except Exception as exc:
        rows.append(h.failed("kernel spectrum / ridge", "(info)", f"{type(exc).__name__}: {exc}"))
    return {"benchmarks": rows}


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(), indent=2, default=str))
