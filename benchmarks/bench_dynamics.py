"""Benchmark: the 1000-point train/test error curve of gradient flow (Liao & Couillet, ICML 2018).

Our solver (Gauss–Chebyshev nodes with pole subtraction, O(√(αt)) nodes per time, all times
vectorised; docs/methods/dynamics.md §5) against the book's method re-implemented here: one
adaptive ``scipy.integrate.quad`` per time and per integral of the same real-line formulas
(docs/methods/dynamics.md §2; Couillet & Liao 2022, §5.2, companion code folder 5.2), in the same run.

Run: ``python benchmarks/bench_dynamics.py`` (prints a JSON dict).
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
from scipy.integrate import quad
from scipy.special import ndtr

from benchmarks._harness import entry
from solvers import dynamics as D
from solvers.dynamics import gradient_descent_classification

# A case with every ingredient: spike (ρ > √c), MP bulk, σ² > 0; t log-spaced up to 1000, α = 1
# (as docs/methods/dynamics.md §5).
CASE = dict(ratio=0.5, mean_norm_squared=2.0, ridge_penalty=0.1, learning_rate=1.0, init_variance=0.5)
TIMES = np.logspace(-2, 3, 1000)
QUAD_TOL = dict(epsabs=1e-11, epsrel=1e-11, limit=200)


def book_curve(*, ratio, mean_norm_squared, ridge_penalty, learning_rate, init_variance, time):
    """Train and test errors by an adaptive quad per t of the docs/methods/dynamics.md §2 real-line integrals."""
    c, rho, gamma, alpha, s2 = ratio, mean_norm_squared, ridge_penalty, learning_rate, init_variance
    lm, lp = (1 - math.sqrt(c)) ** 2, (1 + math.sqrt(c)) ** 2
    lam_s = 1 + rho + c + c / rho
    k = (rho + c) / rho
    w_atom = max(rho * rho - c, 0.0) / rho
    mu_atom = max(1 - 1 / c, 0.0)

    def sq(x):
        return math.sqrt(max((x - lm) * (lp - x), 0.0))

    def mu_density(x):
        return sq(x) / (2 * math.pi * c * x)

    def omega_density(x):
        return sq(x) / (2 * math.pi * (lam_s - x))

    train, test = np.empty(time.size), np.empty(time.size)
    for j, t in enumerate(time):

        def f(x, t=t):
            return math.exp(-alpha * t * (x + gamma))

        def h(x, t=t):
            return -math.expm1(-alpha * t * (x + gamma)) / (x + gamma)

        e = quad(lambda x: h(x) * omega_density(x), lm, lp, **QUAD_TOL)[0] + w_atom * h(lam_s)
        h2 = quad(lambda x: h(x) ** 2 * omega_density(x), lm, lp, **QUAD_TOL)[0] + w_atom * h(lam_s) ** 2
        xh2 = quad(lambda x: x * h(x) ** 2 * omega_density(x), lm, lp, **QUAD_TOL)[0] + w_atom * lam_s * h(lam_s) ** 2
        f2 = quad(lambda x: f(x) ** 2 * mu_density(x), lm, lp, **QUAD_TOL)[0] + mu_atom * f(0.0) ** 2
        xf2 = quad(lambda x: x * f(x) ** 2 * mu_density(x), lm, lp, **QUAD_TOL)[0]
        e_train = k * e
        v_test = k * h2 + s2 * f2
        v_train = k * xh2 + s2 * xf2 - e_train**2
        test[j] = ndtr(-e / math.sqrt(v_test))
        train[j] = ndtr(-e_train / math.sqrt(max(v_train, 0.0)))
    return train, test


def _ours_curve_only():
    p = D._classification_params(mode="flow", **CASE)
    m = D._classification_moments(p, TIMES)
    return D._error(m[0], m[1]), D._error(m[2], m[3])


def _best_of(fn, repeats):
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run() -> dict:
    """Time both methods on the same curve and compare the numbers."""
    full = lambda: gradient_descent_classification(time=TIMES, mode="flow", **CASE)
    full()  # warm-up (node caches, imports)
    t_full, ours = _best_of(full, 5)
    t_curve, (train_c, _test_c) = _best_of(_ours_curve_only, 5)
    t_book, (train_b, test_b) = _best_of(lambda: book_curve(time=TIMES, **CASE), 1)
    diff = max(float(np.max(np.abs(ours.train_error - train_b))), float(np.max(np.abs(ours.test_error - test_b))))
    accuracy = f"max |ours − quad| = {diff:.1e} (target ≤ 1e-6)"
    common = (
        f"{TIMES.size} times in [{TIMES[0]:g}, {TIMES[-1]:g}], case {CASE}; best of 5 (ours) / 1 (quad, seconds long)"
    )
    return {
        "benchmarks": [
            entry(
                "GD classification error curve, 1000 times: ours vs adaptive quad per t",
                ours_seconds=t_curve,
                reference_seconds=t_book,
                ratio=t_curve / t_book,
                target="<= 0.01 (at least 100x faster) with agreement <= 1e-6",
                met=t_curve / t_book <= 0.01 and diff <= 1e-6,
                accuracy=accuracy,
                notes=f"curve only (Gauss–Chebyshev nodes, pole subtraction, all t at once); {common}",
                curve_only_equals_full_call=bool(np.array_equal(train_c, ours.train_error)),
            ),
            entry(
                "same, full public call (curve + t→∞ limit + optimal-time search)",
                ours_seconds=t_full,
                reference_seconds=t_book,
                ratio=t_full / t_book,
                target="(info)",
                met=None,
                accuracy=accuracy,
                notes=common,
            ),
        ]
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
