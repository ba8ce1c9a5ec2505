"""Random-features ridge regression: deterministic equivalent and asymptotic train/test MSE.

A two-layer network ``x ↦ βᵀσ(Wx)`` with a random frozen first layer ``W`` (N × p, i.i.d.
N(0, 1) entries, no 1/p factor) and a ridge-trained second layer
``β = (1/n) Σ((1/n)ΣᵀΣ + γI_n)⁻¹ y``, ``Σ = σ(WX)``. Its errors are predicted from the
expected kernel ``K`` alone (Louart, Liao & Couillet 2018). Everything is evaluated in the
effective-ridge form of ``docs/methods/random_features.md`` §2.1 and §3.1: one eigendecomposition
``K = UΛUᵀ`` serves a whole grid of (N, γ), each point costing O(n) plus one column of a GEMM
of size n_test × n.

Data conventions: arrays have **one sample per row** (``x``: n × p, ``y``: n or n × d); the
paper's X is ``x.T``. Samples should have norm O(1): standardised features divided by √p
(docs/methods/random_features.md §0). :func:`regime_warnings` says when the data are far from that regime.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from solvers import _lapack
from solvers import _validation as v
from solvers._results import Diagnostics
from solvers.activations import Activation, as_activation, expected_kernel, expected_kernel_lower
from solvers.exceptions import ConvergenceError, InvalidParameterError

#: Smallest ridge penalty accepted: below it n·γ is subnormal and δ = κ/(nγ)·… overflows; such a γ
#: is numerically the ridgeless limit.
MIN_RIDGE_PENALTY = 1e-300

__all__ = [
    "DeterministicEquivalent",
    "EffectiveRidge",
    "GaussianMixtureData",
    "OptimalRidge",
    "RidgePredictions",
    "SpectralData",
    "deterministic_equivalent",
    "finite_size_warnings",
    "gaussian_mixture",
    "random_features_ridge",
    "random_features_ridge_from_spectral",
    "regime_warnings",
    "solve_effective_ridge",
    "spectral_data",
]

_REFERENCE_DE = (
    "Louart, Liao & Couillet (2018), Ann. Appl. Probab. 28(2), Thm. 1 (Sec. 3.1); "
    "effective-ridge form, docs/methods/random_features.md §2.1"
)
_REFERENCE_MSE = (
    "Louart, Liao & Couillet (2018), Ann. Appl. Probab. 28(2), Thm. 2 (Sec. 3.1) and Thm. 3 "
    "(Sec. 3.2); effective-ridge spectral form, docs/methods/random_features.md §3.1, §5"
)
_EPS = np.finfo(np.float64).eps
_MAX_NEWTON = 100


# --------------------------------------------------------------------------------------
# Effective ridge κ: the convex equation F(κ) = κ(N − Σ λ_i/(λ_i+κ)) − nγ = 0.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EffectiveRidge:
    """Solution of the effective-ridge equation on a grid of (N, γ).

    Attributes
    ----------
    effective_ridge
        κ = γ (n/N)(1 + δ), the unique positive root of
        ``F(κ) = κ(N − Σ_i λ_i/(λ_i+κ)) − nγ`` (shape of the broadcast of the inputs).
    delta
        δ = (1/n) tr(K Q̄) = κ/(nγ) Σ_i λ_i/(λ_i+κ).
    normalized_trace
        (1/n) tr Q̄ = (κ/γ)(1/n) Σ_i 1/(λ_i+κ), with Q̄ = ((N/n) K/(1+δ) + γI)⁻¹.
    diagnostics
        Newton iterations (max over the grid), largest relative residual of F(κ) = 0, convergence flag.
    reference
        Paper, theorem and docs/methods section.
    """

    effective_ridge: np.ndarray
    delta: np.ndarray
    normalized_trace: np.ndarray
    diagnostics: Diagnostics
    reference: str = _REFERENCE_DE


def _newton_kappa(
    lam: np.ndarray,
    n_neurons: np.ndarray,
    ridge: np.ndarray,
    start: np.ndarray | None = None,
    workspace: np.ndarray | None = None,
) -> tuple[np.ndarray, Diagnostics]:
    """Safeguarded Newton on the convex F, vectorised over the flat grid (docs/methods/random_features.md §2.1).

    ``start``, when given, should be right of the root (F ≥ 0), e.g. the κ of a larger γ; Newton then
    starts from the smaller of it and κ0 (without it, from :func:`_table_start`). The reported
    residual is |F(κ)| / (κ|N − n| + κΣκ/(λ+κ) + nγ), F relative to the sum of the magnitudes of its
    terms: it stays at rounding level for every γ > 0 once converged. ``workspace``: an array of at
    least G·n doubles that Newton may overwrite (else it allocates one).
    """
    target = lam.size * ridge
    upper = (target + float(lam.sum())) / n_neurons  # κ0: F(κ0) ≥ 0, right of the root
    # The start is right of the root in exact arithmetic; where N = rank K and γ is tiny the root sits
    # at the rounding floor of F and it may land just left of it: the bracket keeps κ0 as its right end,
    # and Newton from the left of a convex F steps over the root to its right.
    kappa = np.minimum(upper, _table_start(lam, n_neurons, target, upper) if start is None else start)
    lower = target / n_neurons  # F(κ) ≤ κN − nγ ≤ 0 there: left of (or at) the root
    n = lam.size
    comp_sum = np.empty(kappa.shape)  # Σκ/(λ+κ) at the returned κ, for the residual
    # State of the points still iterating, compacted when some converge (no gathers and scatters per
    # step: on the grid's last steps only a few points are left, in a γ* search all of them are few).
    positions = np.arange(kappa.size)  # their indices in the flat grid
    k = kappa.copy()
    excess = n_neurons - n  # N − n
    excess_abs = np.abs(excess)
    tgt, lo_prev, up_prev = target, lower, upper
    previous = np.full(kappa.shape, np.inf)  # |last Newton step|
    slow = np.zeros(kappa.shape, dtype=bool)  # last step removed ≥ 1/4 of κ
    iterations = 0
    # every step's (G', n) matrix κ/(λ+κ) in one buffer (fresh (G, n) arrays cost page faults, ~2 µs per 4 kB)
    buffer = np.empty(k.size * n) if workspace is None or workspace.size < k.size * n else workspace.reshape(-1)
    for newton_step in range(1, _MAX_NEWTON + 1):
        iterations = newton_step  # reported after the loop
        # N − Σλ/(λ+κ) = (N − n) + Σκ/(λ+κ): no cancellation for N ≥ n (docs/methods/random_features.md §6 pitfall 8), and
        # F' = N − Σλ²/(λ+κ)² = (N − n) + Σκ(2λ+κ)/(λ+κ)² likewise.
        comp = np.add.outer(k, lam, out=buffer[: k.size * n].reshape(k.size, n))
        np.divide(k[:, None], comp, out=comp)  # κ/(λ+κ) = 1 − λ/(λ+κ), in place: two passes over (G, n)
        csum = comp.sum(axis=1)
        s1 = n - csum
        f = k * (excess + csum) - tgt
        fprime = excess + 2.0 * csum - np.einsum("ij,ij->i", comp, comp)  # Σκ/(λ+κ)·(2 − κ/(λ+κ))
        lo = np.where(f < 0, np.maximum(lo_prev, k), lo_prev)
        up = np.where(f >= 0, np.minimum(up_prev, k), up_prev)
        # Stop when the step is below the rounding floor of F: F = κ(N − n) + κΣκ/(λ+κ) − nγ is
        # evaluated with an absolute error ~ ε (κ|N − n| + κΣκ/(λ+κ) + nγ) (the cancellation of
        # docs/methods/random_features.md §6 pitfall 8 when N < n), i.e. that over F' on κ; or when a small step stops
        # shrinking (the quadratic phase is over).
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            new = k - f / fprime
            step = np.abs(new - k)
            floor = 8.0 * _EPS * (k * (excess_abs + (n - s1)) + tgt) / np.abs(fprime)
        done = np.isfinite(new) & (
            (step <= np.maximum(4.0 * _EPS * k, floor)) | (f == 0) | ((step <= 1e-8 * k) & (step >= 0.5 * previous))
        )
        # Safeguards. (1) For convex F, Newton from the right decreases monotonically to the root;
        # rounding can still push an iterate out of the bracket [lo, up]: bisect geometrically.
        # (2) Where F is locally ~ aκ² − b (N = rank K, γ → 0, root ~ √γ) Newton only halves κ per
        # step; after two such steps in a row, jump to the geometric midpoint of the bracket.
        rel = np.divide(step, k, out=np.full_like(k, np.inf), where=k > 0)
        crawling = (rel >= 0.25) & slow & (up > 4.0 * lo)
        slow = rel >= 0.25
        outside = ~np.isfinite(new) | (new < lo) | (new > up) | (new <= 0) | crawling
        new = np.where(outside, np.where(lo > 0, np.sqrt(lo) * np.sqrt(up), 0.5 * up), new)  # no underflow
        if done.any():
            kappa[positions[done]] = k[done]
            comp_sum[positions[done]] = csum[done]
            keep = ~done
            if not keep.any():
                positions = positions[keep]
                break
            positions, k, excess, excess_abs, tgt = (
                positions[keep],
                new[keep],
                excess[keep],
                excess_abs[keep],
                tgt[keep],
            )
            lo_prev, up_prev, previous, slow = lo[keep], up[keep], step[keep], slow[keep]
        else:
            k, lo_prev, up_prev, previous = new, lo, up, step
    active = positions.size > 0
    if active:  # not converged: the sum at the last iterate
        kappa[positions] = k
        comp_sum[positions] = (k[:, None] / (lam[None, :] + k[:, None])).sum(axis=1)
    comp = comp_sum
    f = kappa * ((n_neurons - n) + comp) - target
    scale = kappa * (np.abs(n_neurons - n) + comp) + target  # sum of |terms| of F
    residual = np.divide(np.abs(f), scale, out=np.full_like(f, np.inf), where=scale > 0)
    worst = float(np.max(residual, initial=0.0))
    return kappa, Diagnostics(iterations=iterations, residual=worst, converged=not active)


#: Nodes per decade of the shared κ table of :func:`_table_start` (consecutive nodes 1.33× apart), and at most.
_TABLE_PER_DECADE, _TABLE_MAX = 8, 256


def _table_start(lam: np.ndarray, n_neurons: np.ndarray, target: np.ndarray, kappa0: np.ndarray) -> np.ndarray:
    """Newton starts right of every root of F(κ) = κ((N − n) + Σκ/(λ+κ)) − nγ, for a whole grid at once.

    Σκ/(λ+κ) does not depend on (N, γ), so it is tabulated once on a log grid of κ from
    min nγ/N (left of every root) to max κ0 (right of every root). Each point starts from one
    Newton step taken from the first node where its F ≥ 0: F is convex, so that step stays right
    of the root, within a fraction of the node spacing of it. This replaces the ~5 first
    iterations from κ0 over the (G, n) grid by one pass over a (nodes, n) table.
    """
    n = lam.size
    low, high = float(np.min(target / n_neurons)), float(np.max(kappa0))
    if not (low > 0.0 and high > low and math.isfinite(high)):
        return kappa0
    decades = math.log10(high) - math.log10(low)  # high/low may overflow (γ from 1e-300 to 1e12)
    nodes = np.geomspace(low, high, min(_TABLE_MAX, 2 + math.ceil(_TABLE_PER_DECADE * decades)))
    comp = np.add.outer(nodes, lam)
    np.divide(nodes[:, None], comp, out=comp)  # κ/(λ+κ) at the nodes
    csum = comp.sum(axis=1)
    fprime_part = 2.0 * csum - np.einsum("ij,ij->i", comp, comp)  # F'(κ) − (N − n)
    f = nodes[None, :] * ((n_neurons - n)[:, None] + csum[None, :]) - target[:, None]  # (G, nodes)
    first = np.argmax(f >= 0.0, axis=1)
    rows = np.arange(first.size)
    f_first = f[rows, first]
    fprime = (n_neurons - n) + fprime_part[first]
    with np.errstate(divide="ignore", invalid="ignore"):
        stepped = nodes[first] - f_first / fprime
    usable = (f_first >= 0.0) & (fprime > 0.0) & (stepped > 0.0) & np.isfinite(stepped)
    return np.where(usable, stepped, kappa0)


def validate_grid(name: str, values: Any, *, integer: bool) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidParameterError(name, f"`{name}` must be a number or a non-empty 1-D list, got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError(name, f"`{name}` must contain only finite values.")
    if np.any(arr <= 0):
        raise InvalidParameterError(name, f"`{name}` must be > 0, got {float(arr[arr <= 0][0])!r}.")
    if name == "ridge_penalty" and np.any(arr < MIN_RIDGE_PENALTY):
        raise InvalidParameterError(
            name, f"`{name}` must be >= {MIN_RIDGE_PENALTY:g} (below, n·γ is subnormal), got {float(arr.min())!r}."
        )
    if integer and np.any(arr != np.round(arr)):
        raise InvalidParameterError(
            name, f"`{name}` must contain integers, got {float(arr[arr != np.round(arr)][0])!r}."
        )
    return arr


def solve_effective_ridge(*, eigenvalues: np.ndarray, n_neurons: Any, ridge_penalty: Any) -> EffectiveRidge:
    """Effective ridge κ, δ and (1/n) tr Q̄ from the spectrum of K, vectorised over (N, γ).

    Parameters
    ----------
    eigenvalues
        Eigenvalues λ_i ≥ 0 of the expected kernel K (n of them; negative round-off is clipped).
    n_neurons
        N, scalar or array; broadcast against ``ridge_penalty``.
    ridge_penalty
        γ > 0, scalar or array.

    Returns
    -------
    EffectiveRidge

    Raises
    ------
    ConvergenceError
        If the safeguarded Newton iteration did not converge (not observed: F is convex).

    Notes
    -----
    Louart, Liao & Couillet (2018), Ann. Appl. Probab., Thm. 1: Q̄ = ((N/n) K/(1+δ) + γI)⁻¹,
    δ = (1/n) tr K Q̄. With κ = γ(n/N)(1+δ) this is the convex equation
    F(κ) = κ(N − Σλ_i/(λ_i+κ)) − nγ = 0 of docs/methods/random_features.md §2.1, solved by Newton
    from κ0 = (nγ + tr K)/N (monotone, quadratic convergence), bracketed against rounding.
    """
    lam = v.finite_array("eigenvalues", eigenvalues, ndim=1)
    if lam.size == 0:
        raise InvalidParameterError("eigenvalues", "`eigenvalues` must not be empty.")
    lam = np.maximum(lam, 0.0)
    arrays = []
    for name, value in (("n_neurons", n_neurons), ("ridge_penalty", ridge_penalty)):
        arr = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or arr.size == 0:
            raise InvalidParameterError(name, f"`{name}` must be finite and > 0.")
        if name == "ridge_penalty" and np.any(arr < MIN_RIDGE_PENALTY):
            raise InvalidParameterError(name, f"`{name}` must be >= {MIN_RIDGE_PENALTY:g} (below, n·γ is subnormal).")
        arrays.append(arr)
    try:
        nn_b, gg_b = np.broadcast_arrays(*arrays)
    except ValueError:
        raise InvalidParameterError("ridge_penalty", "`ridge_penalty` must broadcast against `n_neurons`.") from None
    return _effective_ridge(lam, nn_b.ravel().copy(), gg_b.ravel().copy(), nn_b.shape)


def _effective_ridge(lam, nn, gg, shape, *, keep_resolvent: bool = False):
    """κ, δ and (1/n) tr Q̄ on a flat grid; with ``keep_resolvent``, also the (G, n) matrix
    r = 1/(λ+κ) when every λ > 0 (then it is exactly the one :func:`_mse` needs; else ``None``)."""
    n = lam.size
    workspace = np.empty(nn.size * n)  # Newton's steps, then r
    kappa, diag = _newton_kappa(lam, nn, gg, workspace=workspace)
    if not diag.converged:
        raise ConvergenceError(
            "Newton iteration for the effective ridge did not converge.",
            iterations=diag.iterations,
            residual=diag.residual,
        )
    # Σλ/(λ+κ) and Σ1/(λ+κ) from one (G, n⁺) matrix r = 1/(λ+κ) over the positive λ (no cancellation;
    # a zero λ adds 0 and 1/κ), and one product r @ [λ, 1].
    positive = lam[lam > 0.0]
    r = np.add.outer(kappa, positive, out=workspace[: kappa.size * positive.size].reshape(kappa.size, positive.size))
    np.reciprocal(r, out=r)
    sums = r @ np.column_stack([positive, np.ones(positive.size)])
    # δ ≈ κ/(nγ) and (1/n) tr Q̄ ≈ 1/γ exceed the float range only for γ near 1e-300 with data far out
    # of the theorem's scale; they are then +inf, which the service reports as null, not an error.
    with np.errstate(over="ignore", divide="ignore"):
        delta = kappa / (n * gg) * sums[:, 0]
        ntrace = kappa / gg * (sums[:, 1] + (n - positive.size) / kappa) / n
    result = EffectiveRidge(kappa.reshape(shape), delta.reshape(shape), ntrace.reshape(shape), diag)
    if keep_resolvent:
        return result, (r if positive.size == n else None)
    return result


# --------------------------------------------------------------------------------------
# Data validation.
# --------------------------------------------------------------------------------------


def _targets(name: str, y: Any, n: int, ref: str) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim not in (1, 2):
        raise InvalidParameterError(name, f"`{name}` must be 1-D (n,) or 2-D (n, d), got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError(name, f"`{name}` must contain only finite values.")
    if arr.shape[0] != n:
        raise InvalidParameterError(name, f"`{name}` must have one entry per row of `{ref}` ({n}), got {arr.shape[0]}.")
    return arr.reshape(n, -1)


def training_inputs(x: Any, x_test: Any | None) -> tuple[np.ndarray, np.ndarray | None]:
    x = v.finite_array("x", x, ndim=2)
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise InvalidParameterError("x", f"`x` must have at least 2 rows and 1 column, got shape {x.shape}.")
    if x_test is not None:
        x_test = v.finite_array("x_test", x_test, ndim=2)
        if x_test.shape[1] != x.shape[1] or x_test.shape[0] < 1:
            raise InvalidParameterError(
                "x_test",
                f"`x_test` must have at least one row and {x.shape[1]} columns like `x`, got shape {x_test.shape}.",
            )
    return x, x_test


# --------------------------------------------------------------------------------------
# Deterministic equivalent.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeterministicEquivalent:
    """Deterministic equivalent Q̄ of the resolvent of the random-features Gram matrix.

    Attributes
    ----------
    n_neurons
        N.
    ridge_penalty
        γ.
    delta
        δ, the unique positive solution of δ = (1/n) tr(K Q̄).
    effective_ridge
        κ = γ (n/N)(1 + δ); Q̄ = (κ/γ)(K + κI)⁻¹.
    normalized_trace
        (1/n) tr Q̄.
    diagnostics
        Newton iterations, relative residual of F(κ) = 0, convergence.
    warnings
        Messages of :func:`regime_warnings` on the data and activation.
    reference
        Paper, theorem and docs/methods section.
    """

    n_neurons: int
    ridge_penalty: float
    delta: float
    effective_ridge: float
    normalized_trace: float
    diagnostics: Diagnostics
    warnings: tuple[str, ...]
    reference: str


def deterministic_equivalent(
    *,
    activation: Activation | str,
    x: np.ndarray,
    n_neurons: int,
    ridge_penalty: float,
) -> DeterministicEquivalent:
    """δ, effective ridge κ and (1/n) tr Q̄ of the random-features resolvent.

    Parameters
    ----------
    activation
        Activation σ (see :func:`solvers.activations.make_activation`).
    x
        Training inputs, n × p, one sample per row, rows of norm O(1).
    n_neurons
        N ≥ 1, number of random features.
    ridge_penalty
        γ > 0.

    Returns
    -------
    DeterministicEquivalent

    Notes
    -----
    Louart, Liao & Couillet (2018), Ann. Appl. Probab., Thm. 1 (Sec. 3.1):
    E[Q] ≈ Q̄ = ((N/n) K/(1+δ) + γI_n)⁻¹ for Q = ((1/n)ΣᵀΣ + γI_n)⁻¹, solved through the
    convex effective-ridge equation of docs/methods/random_features.md §2.1.
    """
    activation = as_activation(activation)
    x, _ = training_inputs(x, None)
    n_neurons = v.positive_int("n_neurons", n_neurons)
    ridge_penalty = v.positive("ridge_penalty", ridge_penalty)
    if ridge_penalty < MIN_RIDGE_PENALTY:
        raise InvalidParameterError(
            "ridge_penalty",
            f"`ridge_penalty` must be >= {MIN_RIDGE_PENALTY:g} (below, n·γ is subnormal), got {ridge_penalty!r}.",
        )
    kern = expected_kernel(activation=activation, x=x)
    lam = _clean_spectrum(np.linalg.eigvalsh(kern.kernel))
    warnings = regime_warnings(x=x, activation=activation)
    if kern.error_bound > _KERNEL_NOTE_THRESHOLD:
        warnings = (*warnings, _kernel_note(kern.error_bound))
    sol = _effective_ridge(lam, np.array([float(n_neurons)]), np.array([ridge_penalty]), ())
    return DeterministicEquivalent(
        n_neurons=n_neurons,
        ridge_penalty=ridge_penalty,
        delta=float(sol.delta),
        effective_ridge=float(sol.effective_ridge),
        normalized_trace=float(sol.normalized_trace),
        diagnostics=sol.diagnostics,
        warnings=warnings,
        reference=_REFERENCE_DE,
    )


def _clean_spectrum(lam: np.ndarray) -> np.ndarray:
    """Clip round-off: λ ≤ 10 n ε λ_max are exact zeros (docs/methods/random_features.md §6, pitfall 5)."""
    lam = np.maximum(lam, 0.0)
    floor = 10.0 * lam.size * _EPS * float(lam.max(initial=0.0))
    return np.where(lam <= floor, 0.0, lam)


# --------------------------------------------------------------------------------------
# Spectral precomputation and MSE on a grid.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpectralData:
    """Everything the MSE formulas need, from one eigendecomposition (docs/methods/random_features.md §5 steps 1–3).

    Attributes
    ----------
    eigenvalues
        λ_i of K (cleaned: clipped at 0, ≤ 10nελ_max set to 0), shape (n,).
    y_weights
        a_i = Σ_outputs (Uᵀy)_i², shape (n,).
    projected_y
        u = Uᵀy, shape (n, d).
    projected_cross
        A = UᵀK_{XX̂} with rows of zero eigenvalues zeroed, shape (n, n_test).
    cross_weights
        d_i = Σ_j A_ij², shape (n,).
    y_test
        ŷ, shape (n_test, d).
    test_trace
        tr K_{X̂X̂}.
    kernel_error_bound
        Error bound of the kernels (0 for closed forms; see :class:`ExpectedKernel`).
    reference
        Paper and docs/methods section.
    """

    eigenvalues: np.ndarray
    y_weights: np.ndarray
    projected_y: np.ndarray
    projected_cross: np.ndarray
    cross_weights: np.ndarray
    y_test: np.ndarray
    test_trace: float
    kernel_error_bound: float = 0.0
    reference: str = _REFERENCE_MSE


def spectral_data(
    *,
    activation: Activation | str,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
) -> SpectralData:
    """Kernels, one eigendecomposition of K and the projections Uᵀy, UᵀK_{XX̂}.

    Parameters
    ----------
    activation, x, y, x_test, y_test
        As in :func:`random_features_ridge`.

    Returns
    -------
    SpectralData

    Notes
    -----
    Steps 1–3 of docs/methods/random_features.md §5 (Louart, Liao & Couillet 2018, Ann. Appl. Probab.,
    Thm. 2–3 evaluated spectrally).
    """
    activation = as_activation(activation)
    x, y, x_test, y_test = training_data(x, y, x_test, y_test)
    kern = expected_kernel_lower(activation=activation, x=x, x_test=x_test)  # eigh reads the lower triangle only
    return _spectral(kern.kernel, kern.cross_kernel, kern.test_diagonal, y, y_test, kern.error_bound)


def training_data(x, y, x_test, y_test) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated training and test arrays (rows = samples; y as 2-D columns of outputs)."""
    x, x_test = training_inputs(x, x_test)
    if x_test is None:
        raise InvalidParameterError("x_test", "`x_test` is required.")
    y = _targets("y", y, x.shape[0], "x")
    y_test = _targets("y_test", y_test, x_test.shape[0], "x_test")
    if y_test.shape[1] != y.shape[1]:
        raise InvalidParameterError(
            "y_test", f"`y_test` must have {y.shape[1]} output(s) like `y`, got {y_test.shape[1]}."
        )
    return x, y, x_test, y_test


def _eigh_projected(kernel: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) of the symmetric matrix whose lower triangle is that of ``kernel``,
    and UᵀB for B = ``rhs``, without forming the eigenvectors U (docs/methods/random_features.md §5).

    :func:`solvers._lapack.eigh_projected`: the three LAPACK steps of ``numpy.linalg.eigh`` (syevd)
    with the last one applied to B instead of to the eigenvectors, GIL released; ~0.8 of one
    ``numpy.linalg.eigh`` at n = 1024, n̂ = 512. ``kernel`` is overwritten when it is C-ordered
    (its transpose is the Fortran-ordered matrix LAPACK reads, its lower triangle Kᵀ's upper one),
    ``rhs`` when it has fewer columns than rows. Without scipy's Cython LAPACK (see
    :data:`solvers._lapack.AVAILABLE`): ``numpy.linalg.eigh`` and one product, the same numbers up to
    rounding and the sign of each row.
    """
    upper = kernel.T
    if not _lapack.AVAILABLE or kernel.dtype != np.float64:
        lam, vecs = np.linalg.eigh(upper, UPLO="U")
        return lam, vecs.T @ rhs
    if not (upper.flags.f_contiguous and upper.flags.writeable):
        upper = np.array(upper, order="F")
    return _lapack.eigh_projected(upper, rhs)


def _spectral(kernel, cross, test_diag, y, y_test, error_bound: float = 0.0) -> SpectralData:
    """:class:`SpectralData` from the kernels (only K's lower triangle is read; K is overwritten)."""
    # One eigendecomposition serves the grid (docs/methods/random_features.md §5 steps 2–3). Its
    # LAPACK calls release the GIL, so the solver stays safe in a thread of the service (it runs
    # in a worker process; bench_isolation's forced-thread row): scipy.linalg.eigh holds the GIL
    # (a 2048 × 2048 K froze every other thread for seconds).
    n, d = y.shape
    rhs = np.empty((n, d + cross.shape[1]))  # B = [y, K_XX̂], C-ordered: Q is applied to Bᵀ
    rhs[:, :d] = y
    rhs[:, d:] = cross
    lam, projected = _eigh_projected(kernel, rhs)
    lam = _clean_spectrum(lam)
    u = projected[:, :d]
    a_mat = projected[:, d:]
    a_mat[lam == 0.0] = 0.0
    return SpectralData(
        eigenvalues=lam,
        y_weights=np.einsum("ij,ij->i", u, u),
        projected_y=u,
        projected_cross=a_mat,
        cross_weights=np.einsum("ij,ij->i", a_mat, a_mat),
        y_test=y_test,
        test_trace=float(np.sum(test_diag)),
        kernel_error_bound=float(error_bound),
    )


def _mse(
    sd: SpectralData, n_neurons: np.ndarray, ridge: np.ndarray, kappa: np.ndarray, r: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Train/test MSE of docs/methods/random_features.md §3.1 for flat arrays (N_g, κ_g): O(n) + a row of one GEMM each.

    With r_i = 1/(λ_i+κ) and P_i = κr_i² every O(n) sum is a product of the (G, n) matrices r or P
    with a few fixed vectors (a_i = Σ(Uᵀy)², d_i = Σ_j A_ij², λ_i): four passes over G × n numbers
    instead of one per term. P = (κr)r, never r², which would overflow for κ < 1e-154. ``r``, when
    given, is that matrix already computed (by :func:`_effective_ridge`); it is not modified.
    """
    lam = sd.eigenvalues
    n = lam.size
    n_test = sd.y_test.shape[0]
    a, d_w = sd.y_weights, sd.cross_weights
    if r is None:
        r = np.add.outer(kappa, lam)  # (G, n)
        np.reciprocal(r, out=r)
    p_mat = np.multiply(r, kappa[:, None])
    p_mat *= r
    # columns: Σλr², Σar², Σaλr², Σdr² (each times κ)
    sums = p_mat @ np.column_stack([lam, a, a * lam, d_w])
    lr2 = sums[:, 0] / kappa
    # D = F'(κ)/N = (N − Σλr + κΣλr²)/N, and N − Σλr = nγ/κ at the root: D = (nγ/κ + κΣλr²)/N,
    # a sum of positive terms free of the cancellation of docs/methods/random_features.md §6 pitfall 8 (D ≥ nγ/(Nκ) > 0).
    d_big = (n * ridge / kappa + kappa * lr2) / n_neurons
    theta = lr2 / n_neurons / d_big
    train = kappa / n * (sums[:, 1] + theta * sums[:, 2])  # (κ²/n) Σ a r² (1 + θλ)
    # bias term: (1/n̂)‖ŷ − Aᵀ(r⊙u)‖², one GEMM (r⊙u)ᵀA for all points, chunked for memory
    u = sd.projected_y  # (n, d)
    d = u.shape[1]
    bias = np.empty(kappa.size)
    chunk = max(1, 4_000_000 // (d * max(n, n_test)))
    # One output: r ⊙ u overwrites P, no longer needed (one (G, n) array fewer to allocate and fault in).
    work = p_mat if d == 1 else None
    for start in range(0, kappa.size, chunk):
        rs = r[start : start + chunk]  # (g, n)
        if work is not None:
            coef = np.multiply(rs, u[:, 0], out=work[: rs.shape[0]])
        else:
            coef = (rs[:, None, :] * u.T[None, :, :]).reshape(-1, n)  # row (g, k): r_g ⊙ u_k
        resid = (coef @ sd.projected_cross).reshape(rs.shape[0], d, n_test)  # predictions on X̂
        resid -= sd.y_test.T[None, :, :]
        bias[start : start + chunk] = np.einsum("gkj,gkj->g", resid, resid) / n_test
    bracket = sd.test_trace - (r @ d_w + sums[:, 3])  # tr K_X̂X̂ − Σ d r (1 + κr)
    bracket = np.maximum(bracket, 0.0) / n_test  # ≥ 0 exactly (Schur complement), clip round-off
    variance = sums[:, 2] / kappa / n_neurons / d_big * bracket  # (1/N) Σ a λ r² / D · bracket
    return train, bias + variance


@dataclass(frozen=True, slots=True)
class OptimalRidge:
    """Best ridge per number of neurons and overall.

    Attributes
    ----------
    n_neurons
        The N values of the grid, shape (J,).
    ridge_penalty
        γ*(N), minimiser of the predicted test MSE over the γ interval ``bounds``, shape (J,).
    test_mse, train_mse
        Predicted errors at (N, γ*(N)), shape (J,).
    best_n_neurons, best_ridge_penalty, best_test_mse
        The combination with the lowest predicted test MSE.
    best_index
        Its index in ``n_neurons`` (0 when no test MSE is finite).
    bounds
        The γ interval searched (the span of the requested γ values, or γ·[1e-3, 1e3] for one
        value).
    """

    n_neurons: np.ndarray
    ridge_penalty: np.ndarray
    test_mse: np.ndarray
    train_mse: np.ndarray
    best_n_neurons: int
    best_ridge_penalty: float
    best_test_mse: float
    best_index: int
    bounds: tuple[float, float]


@dataclass(frozen=True, slots=True)
class RidgePredictions:
    """Predicted train and test MSE of random-features ridge regression on a grid.

    Attributes
    ----------
    n_neurons
        N values, shape (J,).
    ridge_penalty
        γ values, shape (L,).
    train_mse, test_mse
        Ē_train, Ē_test, shape (J, L) (row j ↔ N_j, column l ↔ γ_l); ``nan`` where a point
        could not be evaluated (see ``notes``).
    effective_ridge, delta
        κ and δ on the grid, shape (J, L).
    optimal
        γ*(N) per N and the overall best combination, or ``None`` when not requested.
    diagnostics
        Newton solve for κ over the whole grid.
    warnings
        :func:`regime_warnings` on the data (the theorem's scaling, activation hypotheses).
    notes
        Human-readable notes on individual points.
    reference
        Paper, theorems and docs/methods sections.
    """

    n_neurons: np.ndarray
    ridge_penalty: np.ndarray
    train_mse: np.ndarray
    test_mse: np.ndarray
    effective_ridge: np.ndarray
    delta: np.ndarray
    optimal: OptimalRidge | None
    diagnostics: Diagnostics
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    reference: str


def random_features_ridge(
    *,
    activation: Activation | str,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    n_neurons: int | Sequence[int] | np.ndarray,
    ridge_penalty: float | Sequence[float] | np.ndarray,
    optimize: bool = True,
) -> RidgePredictions:
    """Asymptotic train and test MSE of random-features ridge regression over a (N, γ) grid.

    Parameters
    ----------
    activation
        Activation σ.
    x, x_test
        Training (n × p) and test (n_test × p) inputs, one sample per row, rows of norm O(1).
    y, y_test
        Targets, shape (n,) / (n_test,) or (n, d) / (n_test, d) for d outputs (errors are then
        summed over outputs: squared Frobenius norms divided by n or n_test).
    n_neurons
        N: an integer or a 1-D list of integers ≥ 1.
    ridge_penalty
        γ > 0: a number or a 1-D list.
    optimize
        Also compute γ*(N) for every N and the best combination (bounded 1-D minimisation in
        log γ over the span of ``ridge_penalty``).

    Returns
    -------
    RidgePredictions

    Notes
    -----
    Louart, Liao & Couillet (2018), Ann. Appl. Probab., Thm. 2 (training MSE, Sec. 3.1) and
    Thm. 3 (test MSE, Sec. 3.2), with all kernels normalised as K̄ = (N/n) K/(1+δ) (paper's Ψ;
    docs/methods/random_features.md §3 and the slide typos of §3.3), evaluated in the effective-ridge
    spectral form of docs/methods/random_features.md §3.1: with R = (K + κI)⁻¹,
    Ē_train = (κ²/n)[yᵀR²y + Θ yᵀRKRy], Θ = (1/N) tr(KR²)/D, D = 1 − (1/N) tr (KR)²,
    Ē_test = (1/n̂)‖ŷ − K_{X̂X}Ry‖² + (1/N) yᵀRKRy / D · (1/n̂)[tr K_{X̂X̂} − tr K_{X̂X}(R + κR²)K_{XX̂}].
    Cost (docs/methods/random_features.md §5): one eigh of K, then O(n) per grid point plus one GEMM (n̂ × n)·(n × G d).
    """
    nn = validate_grid("n_neurons", n_neurons, integer=True)
    gg = validate_grid("ridge_penalty", ridge_penalty, integer=False)
    activation = as_activation(activation)
    sd = spectral_data(activation=activation, x=x, y=y, x_test=x_test, y_test=y_test)
    return _predict(sd, nn, gg, optimize, regime_warnings(x=x, activation=activation, x_test=x_test))


def random_features_ridge_from_spectral(
    *,
    spectral: SpectralData,
    n_neurons: int | Sequence[int] | np.ndarray,
    ridge_penalty: float | Sequence[float] | np.ndarray,
    warnings: Sequence[str] = (),
    optimize: bool = True,
) -> RidgePredictions:
    """:func:`random_features_ridge` from a precomputed :func:`spectral_data` of the same data and activation.

    Everything that depends on (data, activation) is in ``spectral`` (the eigendecomposition of K,
    Uᵀy, UᵀK_XX̂ and tr K_X̂X̂), so a new (N, γ) grid costs O(n) per point: this is what makes a
    repeated query on a stored data set cheap (docs/methods/random_features.md §5).

    Parameters
    ----------
    spectral
        From :func:`spectral_data`.
    n_neurons, ridge_penalty, optimize
        As in :func:`random_features_ridge`.
    warnings
        The regime warnings of the data (computed once with ``spectral``).
    """
    nn = validate_grid("n_neurons", n_neurons, integer=True)
    gg = validate_grid("ridge_penalty", ridge_penalty, integer=False)
    return _predict(spectral, nn, gg, optimize, tuple(warnings))


def _predict(sd: SpectralData, nn: np.ndarray, gg: np.ndarray, optimize: bool, warnings) -> RidgePredictions:
    lam = sd.eigenvalues
    n = lam.size
    big_n, big_g = np.meshgrid(nn, gg, indexing="ij")
    sol, r = _effective_ridge(lam, big_n.ravel(), big_g.ravel(), big_n.shape, keep_resolvent=True)
    kappa = sol.effective_ridge.ravel()
    with np.errstate(all="ignore"):
        train, test = _mse(sd, big_n.ravel(), big_g.ravel(), kappa, r)
    del r
    notes: list[str] = []
    bad = ~(np.isfinite(train) & np.isfinite(test))
    if bad.any():
        train[bad] = np.nan
        test[bad] = np.nan
        notes.append(
            f"{int(bad.sum())} grid point(s) overflowed in double precision (γ too small: the γ → 0 limit is reached long before) and are null."
        )
    if sd.kernel_error_bound > _KERNEL_NOTE_THRESHOLD:
        notes.append(_kernel_note(sd.kernel_error_bound))
    rank = int(np.count_nonzero(lam))
    if rank < n:
        notes.append(f"K has rank {rank} < n = {n}: the interpolation threshold is at N = {rank}.")
    warnings = (*warnings, *finite_size_warnings(eigenvalues=lam, n_neurons=nn, ridge_penalty=gg))
    optimal = (
        _optimise(sd, nn, gg, test.reshape(big_n.shape), train.reshape(big_n.shape), sol.effective_ridge)
        if optimize
        else None
    )
    return RidgePredictions(
        n_neurons=nn.astype(np.int64),
        ridge_penalty=gg,
        train_mse=train.reshape(big_n.shape),
        test_mse=test.reshape(big_n.shape),
        effective_ridge=sol.effective_ridge,
        delta=sol.delta,
        optimal=optimal,
        diagnostics=sol.diagnostics,
        warnings=tuple(warnings),
        notes=tuple(notes),
        reference=_REFERENCE_MSE,
    )


_KERNEL_NOTE_THRESHOLD = 1e-8


def _kernel_note(bound: float) -> str:
    return (
        f"The Hermite-series kernel is only accurate to {bound:.2g} here (samples of large norm, "
        "outside the theorem's regime): standardise the features and divide by √p."
    )


def _test_at(
    sd: SpectralData, nn: np.ndarray, log_g: np.ndarray, start: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test MSE (+inf where not finite), train MSE and κ at (N, γ = e^log_g); ``start`` as in :func:`_newton_kappa`."""
    g = np.exp(log_g)
    kappa, _ = _newton_kappa(sd.eigenvalues, nn, g, start)
    with np.errstate(all="ignore"):
        train, test = _mse(sd, nn, g, kappa)
    return np.where(np.isfinite(test), test, np.inf), train, kappa


#: Brent's golden-section fraction (3 − √5)/2.
_GOLDEN = 0.5 * (3.0 - math.sqrt(5.0))
#: Absolute tolerance of γ*(N) in log γ: the final bracket is ≤ 4 of it wide, γ* is known to ~4e-5 relative.
_LOG_GAMMA_TOL = 1e-5
#: Cap on Brent's steps (a smooth minimum takes ~7 from the scanned bracket; golden sections alone ~25).
_MAX_BRENT = 100


def _optimise(
    sd: SpectralData,
    nn: np.ndarray,
    gg: np.ndarray,
    grid_test: np.ndarray | None = None,
    grid_train: np.ndarray | None = None,
    grid_kappa: np.ndarray | None = None,
) -> OptimalRidge:
    """γ*(N): bracket from a log scan (the requested grid when it has ≥ 3 values), then Brent's
    method in log γ (parabolic steps, golden-section fallback; to ~4e-5 relative in γ), one
    vectorised evaluation of every N per step.

    Brent, *Algorithms for Minimization without Derivatives* (1973), Ch. 5, as in Press et al.,
    *Numerical Recipes*, 3rd ed., §10.3. The three scanned points around the best one start the
    parabola, so a smooth minimum takes ~7 evaluations per N (the nested scans this replaces took
    61). Each κ is solved by Newton from a bound right of its root derived from the best point so
    far (κ(γ) is increasing and concave, κ/γ decreasing), in about two iterations.
    """
    lo, hi = (float(gg.min()), float(gg.max())) if gg.size > 1 else (float(gg[0]) * 1e-3, float(gg[0]) * 1e3)
    J = nn.size
    if grid_test is not None and grid_train is not None and grid_kappa is not None and gg.size >= 3:
        order = np.argsort(gg)
        scan = np.log(gg[order])
        values = np.where(np.isfinite(grid_test[:, order]), grid_test[:, order], np.inf)
        trains, kappas = grid_train[:, order], grid_kappa[:, order]
    else:
        scan = np.linspace(math.log(lo), math.log(hi), 25)
        flat = _test_at(sd, np.repeat(nn, scan.size), np.tile(scan, J))
        values, trains, kappas = (part.reshape(J, scan.size) for part in flat)
    lam, n = sd.eigenvalues, sd.eigenvalues.size
    rows = np.arange(J)
    k = np.argmin(values, axis=1)
    km, kp = np.maximum(k - 1, 0), np.minimum(k + 1, scan.size - 1)
    # Brent's state per N: bracket [a, b]; x the best point, w the second best, v the previous w
    a, b = scan[km].copy(), scan[kp].copy()
    x, fx, kappa_x = scan[k].copy(), values[rows, k].copy(), kappas[rows, k].copy()
    train_x = trains[rows, k].copy()
    left_better = values[rows, km] <= values[rows, kp]
    w = np.where(left_better, scan[km], scan[kp])
    fw = np.where(left_better, values[rows, km], values[rows, kp])
    v = np.where(left_better, scan[kp], scan[km])
    fv = np.where(left_better, values[rows, kp], values[rows, km])
    e = b - a  # lets the first step be the parabola through the three scanned points
    d = np.zeros(J)
    tol1, tol2 = _LOG_GAMMA_TOL, 2.0 * _LOG_GAMMA_TOL
    active = np.isfinite(fx)
    for _ in range(_MAX_BRENT):
        xm = 0.5 * (a + b)
        active &= np.abs(x - xm) > tol2 - 0.5 * (b - a)
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        xi, ai, bi, xmi = x[idx], a[idx], b[idx], xm[idx]
        # parabola through (x, fx), (w, fw), (v, fv): step p/q from x
        r_ = (xi - w[idx]) * (fx[idx] - fv[idx])
        q_ = (xi - v[idx]) * (fx[idx] - fw[idx])
        p_ = (xi - v[idx]) * q_ - (xi - w[idx]) * r_
        q_ = 2.0 * (q_ - r_)
        p_ = np.where(q_ > 0.0, -p_, p_)
        q_ = np.abs(q_)
        e_old = e[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = p_ / q_
        golden = (
            (np.abs(e_old) <= tol1)
            | ~np.isfinite(step)
            | (np.abs(p_) >= np.abs(0.5 * q_ * e_old))
            | (p_ <= q_ * (ai - xi))
            | (p_ >= q_ * (bi - xi))
        )
        # a parabolic step may not land within tol2 of the bracket's ends
        near_end = ((xi + step - ai) < tol2) | ((bi - xi - step) < tol2)
        step = np.where(near_end, np.where(xmi >= xi, tol1, -tol1), step)
        e_gold = np.where(xi >= xmi, ai - xi, bi - xi)
        e[idx] = np.where(golden, e_gold, d[idx])
        d_new = np.where(golden, _GOLDEN * e_gold, step)
        d[idx] = d_new
        u = xi + np.where(np.abs(d_new) >= tol1, d_new, np.where(d_new >= 0, tol1, -tol1))
        # Newton starts right of the new root: κ(u) ≤ κ(x) for u ≤ x and κ(u) ≤ κ(x)·e^{u−x} for u > x
        # (κ increases with γ, κ/γ decreases); and κ(γ) is concave (its inverse γ = κ(N − Σλ/(λ+κ))/n
        # is convex), so its tangent at x, κ_x + n(γ_u − γ_x)/F'(κ_x), lies above it too, and closer.
        kx, nx = kappa_x[idx], nn[idx]
        start = kx * np.exp(np.maximum(u - xi, 0.0))
        comp = kx[:, None] / (lam[None, :] + kx[:, None])
        fprime = (nx - n) + 2.0 * comp.sum(axis=1) - np.einsum("ij,ij->i", comp, comp)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tangent = kx + n * (np.exp(u) - np.exp(xi)) / fprime
        start = np.where((fprime > 0) & (tangent > 0) & (tangent < start), tangent, start) * (1.0 + 1e-9)
        fu, train_u, kappa_u = _test_at(sd, nn[idx], u, start)
        better = fu <= fx[idx]
        # shrink the bracket
        a[idx] = np.where(better, np.where(u >= xi, xi, ai), np.where(u < xi, u, ai))
        b[idx] = np.where(better, np.where(u >= xi, bi, xi), np.where(u < xi, bi, u))
        # update the three points
        wi, fwi, vi, fvi = w[idx], fw[idx], v[idx], fv[idx]
        second = ~better & ((fu <= fwi) | (wi == xi))
        third = ~better & ~second & ((fu <= fvi) | (vi == xi) | (vi == wi))
        v[idx] = np.where(better | second, wi, np.where(third, u, vi))
        fv[idx] = np.where(better | second, fwi, np.where(third, fu, fvi))
        w[idx] = np.where(better, xi, np.where(second, u, wi))
        fw[idx] = np.where(better, fx[idx], np.where(second, fu, fwi))
        x[idx] = np.where(better, u, xi)
        fx[idx] = np.where(better, fu, fx[idx])
        kappa_x[idx] = np.where(better, kappa_u, kappa_x[idx])
        train_x[idx] = np.where(better, train_u, train_x[idx])
    gamma_star = np.exp(x)
    train, test = train_x, np.where(np.isfinite(fx), fx, np.nan)
    j = int(np.nanargmin(np.where(np.isfinite(test), test, np.nan))) if np.isfinite(test).any() else 0
    return OptimalRidge(
        n_neurons=nn.astype(np.int64),
        ridge_penalty=gamma_star,
        test_mse=test,
        train_mse=train,
        best_n_neurons=int(nn[j]),
        best_ridge_penalty=float(gamma_star[j]),
        best_test_mse=float(test[j]),
        best_index=j,
        bounds=(lo, hi),
    )


# --------------------------------------------------------------------------------------
# Regime checks.
# --------------------------------------------------------------------------------------


def regime_warnings(
    *,
    x: np.ndarray,
    activation: Activation | str,
    x_test: np.ndarray | None = None,
) -> tuple[str, ...]:
    """Warnings when the data or activation are far from the hypotheses of the theorem.

    Parameters
    ----------
    x
        Training inputs, n × p, one sample per row.
    activation
        Activation σ.
    x_test
        Optional test inputs.

    Returns
    -------
    tuple of str
        Empty when nothing is suspicious.

    Notes
    -----
    Louart, Liao & Couillet (2018), Ann. Appl. Probab., Thm. 1 assumes σ Lipschitz, ‖X‖
    bounded (samples of norm O(1): standardised features divided by √p) and n, p, N large and
    proportional; docs/methods/random_features.md §0, §4 (finite-size gaps of several % at n = 128,
    larger for p ≪ n).
    """
    activation = as_activation(activation)
    x = np.asarray(x, dtype=np.float64)
    out: list[str] = []
    n, p = x.shape
    parts = [x] if x_test is None else [x, np.asarray(x_test, dtype=np.float64)]
    norms = np.sqrt(np.concatenate([np.einsum("ij,ij->i", part, part) for part in parts]))  # no n × p temporaries
    median = float(np.median(norms))
    if p >= 16 and median > 0.3 * math.sqrt(p) and median > 3.0:
        out.append(
            f"Samples have median norm {median:.3g} ≈ √p = {math.sqrt(p):.3g}: these look like raw "
            "(unnormalised) features. The theorem assumes samples of norm O(1): standardise the "
            "features and divide by √p."
        )
    elif median > 5.0:
        out.append(
            f"Samples have median norm {median:.3g}; the theorem assumes norm O(1) (standardised "
            "features divided by √p)."
        )
    elif median < 0.05:
        out.append(
            f"Samples have median norm {median:.3g}; at this scale every activation is close to "
            "linear. The theorem assumes norm O(1) (standardised features divided by √p)."
        )
    if median > 3.0 and activation.name in ("tanh", "sigmoid", "erf", "sign", "step", "cos", "sin", "gaussian"):
        out.append(
            f"The bounded activation {activation.name!r} saturates at sample norm {median:.3g}: "
            "the random features are nearly binary and the predictions leave the regime of the theorem."
        )
    if not activation.is_lipschitz:
        out.append(
            f"The activation {activation.name!r} is not Lipschitz; the deterministic equivalent is "
            "proved for Lipschitz σ only."
        )
    if n < 128:
        out.append(
            f"n = {n} samples: finite-size gaps of several % are expected below n ≈ 256 (docs/methods/random_features.md §4)."
        )
    ratio = p / n
    if ratio < 0.05 or ratio > 20:
        out.append(
            f"p/n = {ratio:.3g}: far from the proportional regime (n, p, N large together); "
            "expect gaps of up to ~10 % at small γ (docs/methods/random_features.md §4, digits data)."
        )
    return tuple(out)


#: γ below this fraction of λ̄ = tr K/n (the mean eigenvalue of the expected kernel) is where the
#: finite-n gap of the deterministic equivalent was measured to grow (docs/methods/random_features.md §4.1):
#: at γ/λ̄ ≥ 0.2 every measured gap was ≤ 1.4 % (test) and ≤ 1.8 % (train); at γ/λ̄ ≈ 0.06–0.08 already
#: 2.3 % / 4.0 %, and up to 5.3 % / 17 % at γ/λ̄ ≈ 3·10⁻⁴.
SMALL_RIDGE_FRACTION = 0.1


def finite_size_warnings(
    *,
    eigenvalues: np.ndarray,
    n_neurons: np.ndarray,
    ridge_penalty: np.ndarray,
) -> tuple[str, ...]:
    """A warning when requested γ are small relative to the spectrum of K, where the finite-n gap grows.

    Parameters
    ----------
    eigenvalues
        Eigenvalues of the expected kernel K (n of them, from :func:`spectral_data`).
    n_neurons
        The requested N (1-D).
    ridge_penalty
        The requested γ (1-D).

    Returns
    -------
    tuple of str
        One message naming the threshold γ < 0.1·tr K/n, how many requested γ fall below it, the
        measured size of the gap and the simulation job that checks it; empty otherwise.

    Notes
    -----
    Louart, Liao & Couillet (2018), Ann. Appl. Probab., Thm. 2–3 hold as n, p, N → ∞ with γ fixed; at
    finite n the error of the deterministic equivalent grows as γ shrinks relative to the spectrum of K
    (the resolvent then sees its smallest eigenvalues, whose fluctuations the equivalent ignores), most
    for N ≥ n. Measured with :func:`solvers.montecarlo.random_features.simulate_random_features_ridge`
    at n = 512 (48 draws of W per point) on scikit-learn's digits and a Gaussian mixture:
    docs/methods/random_features.md §4.1.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    gammas = np.asarray(ridge_penalty, dtype=np.float64).ravel()
    neurons = np.asarray(n_neurons).ravel()
    n = lam.size
    mean_eigenvalue = float(lam.sum()) / n if n else 0.0
    threshold = SMALL_RIDGE_FRACTION * mean_eigenvalue
    small = gammas < threshold
    if not small.any():
        return ()
    many = (
        ""
        if neurons.size == 0
        else f" (N ≥ n = {n} for {int(np.count_nonzero(neurons >= n))} of the {neurons.size} N requested)"
    )
    return (
        f"{int(small.sum())} of the {gammas.size} ridge penalties requested are below 0.1·tr K/n = {threshold:.3g}{many}: "
        "there the finite-n error of the deterministic equivalent grows. Measured against simulation at n = 512 "
        "(docs/methods/random_features.md §4.1): up to 5.3 % on the test MSE and 17 % on the training MSE (digits, tanh), "
        "up to 1.6 % and 7.5 % (digits, relu), within the Monte Carlo noise on a Gaussian mixture; largest for N ≥ n and "
        "the smallest γ. Check the chosen setting with a simulation job on the same data "
        "(POST /v1/simulations, kind `random_features_ridge`, the same `data`).",
    )


# --------------------------------------------------------------------------------------
# Gaussian-mixture data.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GaussianMixtureData:
    """A Gaussian-mixture classification data set in the theorem's scaling.

    Attributes
    ----------
    x, x_test
        Inputs, (n, p) and (n_test, p), one sample per row: x_i = (μ_{c_i} + s_{c_i} z_i)/√p,
        z_i ~ N(0, I_p), s_c² the class noise variance; rows have norm ≈ √(s² + ‖μ‖²/p).
    y, y_test
        Labels: ±1 (shape (n,)) for two classes (class 0 → +1, class 1 → −1), one-hot
        (shape (n, k)) otherwise.
    labels, labels_test
        Class indices.
    means
        Class means μ_c in raw units (before the 1/√p), shape (k, p).
    seed_entropy
        Entropy of the SeedSequence when ``rng`` was a seed (SPEC 7), else ``None``.
    reference
        The data model and its scaling.
    """

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels: np.ndarray
    labels_test: np.ndarray
    means: np.ndarray
    seed_entropy: int | None
    reference: str = (
        "Two-class Gaussian mixture of docs/methods/random_features.md §4, scaled as Louart, Liao & Couillet (2018), "
        "Ann. Appl. Probab., Sec. 3 (samples of norm O(1))"
    )


def _counts(n: int, proportions: np.ndarray) -> np.ndarray:
    """Largest-remainder rounding of n·proportions (deterministic)."""
    raw = n * proportions
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def gaussian_mixture(
    *,
    n_samples: int,
    n_test: int,
    n_features: int,
    n_classes: int = 2,
    means: np.ndarray | None = None,
    mean_norm: float = 3.0,
    noise_variance: float | Sequence[float] = 1.0,
    proportions: Sequence[float] | None = None,
    rng: np.random.Generator | int | np.random.SeedSequence | None = None,
) -> GaussianMixtureData:
    """Draw a k-class Gaussian mixture, scaled so that samples have norm O(1).

    Parameters
    ----------
    n_samples, n_test, n_features
        n, n_test, p.
    n_classes
        k ≥ 2.
    means
        Class means μ_c, shape (k, p), in raw units (norm O(1) gives a non-trivial problem).
        If ``None`` they are drawn: for k = 2, ±μ with μ uniform on the sphere of radius
        ``mean_norm``; for k > 2, k independent uniform directions of norm ``mean_norm``.
    mean_norm
        ‖μ_c‖ of drawn means (default 3, the setting of docs/methods/random_features.md §4).
    noise_variance
        s² ≥ 0, one value or one per class (docs/methods/random_features.md §4 uses 1 and 1 + 4/√p).
    proportions
        Class proportions (non-negative, summing to 1); default equal. Class counts are
        n·proportions rounded by largest remainder; sample order is shuffled.
    rng
        Seed, SeedSequence or Generator (SPEC 7). The draw order is fixed (means, then
        training labels and noise, then test labels and noise), so a seed reproduces the data
        bit for bit.

    Returns
    -------
    GaussianMixtureData

    Notes
    -----
    The data model of docs/methods/random_features.md §4 (two-class GMM ±μ, ‖μ‖ = 3, columns of norm ≈ 1),
    in the scaling assumed by Louart, Liao & Couillet (2018), Ann. Appl. Probab., Sec. 3 (‖X‖
    bounded).
    """
    n_samples = v.positive_int("n_samples", n_samples)
    n_test = v.positive_int("n_test", n_test)
    p = v.positive_int("n_features", n_features)
    k = v.positive_int("n_classes", n_classes)
    if k < 2:
        raise InvalidParameterError("n_classes", f"`n_classes` must be >= 2, got {k}.")
    mean_norm = v.non_negative("mean_norm", mean_norm)
    var = np.atleast_1d(np.asarray(noise_variance, dtype=np.float64))
    if var.ndim != 1 or var.size not in (1, k) or not np.all(np.isfinite(var)) or np.any(var < 0):
        raise InvalidParameterError(
            "noise_variance", f"`noise_variance` must be one finite value >= 0 or {k} of them, got {noise_variance!r}."
        )
    var = np.broadcast_to(var, (k,)).copy()
    if proportions is None:
        props = np.full(k, 1.0 / k)
    else:
        props = np.asarray(proportions, dtype=np.float64)
        if props.shape != (k,) or not np.all(np.isfinite(props)) or np.any(props < 0) or abs(props.sum() - 1) > 1e-9:
            raise InvalidParameterError(
                "proportions", f"`proportions` must be {k} non-negative numbers summing to 1, got {proportions!r}."
            )
        props = props / props.sum()
    if means is not None:
        means = np.asarray(means, dtype=np.float64)
        if means.shape != (k, p) or not np.all(np.isfinite(means)):
            raise InvalidParameterError(
                "means", f"`means` must be a finite array of shape ({k}, {p}), got shape {means.shape}."
            )
    seed_entropy = None
    if not isinstance(rng, np.random.Generator):
        seq = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(rng)
        seed_entropy = int(seq.entropy) if isinstance(seq.entropy, int) else None
        rng = np.random.default_rng(seq)
    if means is None:
        if k == 2:
            mu = rng.standard_normal(p)
            mu *= mean_norm / np.linalg.norm(mu)
            means = np.stack([mu, -mu])
        else:
            means = rng.standard_normal((k, p))
            means *= mean_norm / np.linalg.norm(means, axis=1, keepdims=True)

    def draw(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.repeat(np.arange(k), _counts(count, props))
        labels = labels[rng.permutation(count)]
        noise = rng.standard_normal((count, p))
        xs = (means[labels] + np.sqrt(var[labels])[:, None] * noise) / math.sqrt(p)
        return xs, labels

    x, labels = draw(n_samples)
    x_test, labels_test = draw(n_test)

    def encode(lab: np.ndarray) -> np.ndarray:
        if k == 2:
            return np.where(lab == 0, 1.0, -1.0)
        return np.eye(k)[lab]

    return GaussianMixtureData(
        x=x,
        y=encode(labels),
        x_test=x_test,
        y_test=encode(labels_test),
        labels=labels,
        labels_test=labels_test,
        means=means,
        seed_entropy=seed_entropy,
    )
