"""Spiked covariance model and the BBP phase transition (``docs/methods/spectra.md`` §3).

Σ = σ² (I_p + Σ_k ℓ_k u_k u_kᵀ), S = (1/n) Σ^{1/2} Z Zᵀ Σ^{1/2}, c = p/n. A spike ℓ_k above the
threshold √c produces an outlier eigenvalue outside the Marchenko–Pastur bulk whose eigenvector
keeps a deterministic overlap with u_k; below it the top eigenvalue sticks to the edge and the
overlap vanishes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solvers._validation import finite_array, positive
from solvers.exceptions import InvalidParameterError

REFERENCE = (
    "Baik, Ben Arous & Péché (2005), Ann. Probab. 33:1643-1697 (threshold); "
    "Baik & Silverstein (2006), J. Multivariate Anal. 97:1382-1408, Thm 1.1 (outlier location); "
    "Paul (2007), Statistica Sinica 17:1617-1642, Thm 4 (eigenvector alignment); "
    "docs/methods/spectra.md §3"
)


@dataclass(frozen=True, slots=True)
class SpikedCovariancePrediction:
    """Limits of the top sample eigenvalues and eigenvectors of a spiked covariance.

    Attributes
    ----------
    ratio, variance
        c = p/n and σ², echoed.
    support
        ``(lower, upper)`` = σ²(1 ∓ √c)² of the non-zero part of the Marchenko–Pastur bulk
        (lower is 0 at c = 1; for c > 1 the bulk is still this interval, plus the atom).
    atom_mass
        Mass (1 − 1/c)⁺ of the atom at 0 (p − n zero eigenvalues when c > 1).
    threshold
        BBP threshold √c: spikes strictly above it separate from the bulk.
    spike
        The spikes ℓ_k, in the order given.
    separated
        ``spike > threshold``.
    eigenvalue
        Limit of the matching sample eigenvalue: σ²(1 + ℓ)(1 + c/ℓ) if separated, else the
        edge σ²(1 + √c)² (continuous at ℓ = √c).
    alignment
        |⟨û, u⟩|² → (1 − c/ℓ²)/(1 + c/ℓ) if separated, else 0.
    sample_side_alignment
        |⟨v̂, Zᵀu/‖Zᵀu‖⟩|² → 1 − c/ℓ² if separated, else 0 (v̂: Gram-matrix eigenvector).
    notes
        Remarks, e.g. spikes inside the critical window or repeated spikes.
    reference
        Papers and theorems of the formulas.
    """

    ratio: float
    variance: float
    support: tuple[float, float]
    atom_mass: float
    threshold: float
    spike: np.ndarray
    separated: np.ndarray
    eigenvalue: np.ndarray
    alignment: np.ndarray
    sample_side_alignment: np.ndarray
    notes: tuple[str, ...]
    reference: str = REFERENCE


def spiked_covariance(*, ratio: float, spikes, variance: float = 1.0) -> SpikedCovariancePrediction:
    """BBP phase transition: outlier eigenvalues and eigenvector alignments of a spiked covariance.

    For Σ = σ²(I + Σ_k ℓ_k u_k u_kᵀ) and c = p/n (docs/methods/spectra.md §3 table):

    * eigenvalue: σ²(1 + ℓ)(1 + c/ℓ) for ℓ > √c (Baik & Silverstein 2006, Thm 1.1, written
      as ψ(a) = a + c a/(a − 1) with a = 1 + ℓ), otherwise σ²(1 + √c)² (Baik, Ben Arous &
      Péché 2005);
    * population-side alignment |⟨û, u⟩|² = (1 − c/ℓ²)/(1 + c/ℓ) (Paul 2007, Thm 4;
      equivalently a ψ'(a)/ψ(a)), otherwise 0;
    * sample-side alignment |⟨v̂, Zᵀu/‖Zᵀu‖⟩|² = 1 − c/ℓ², otherwise 0 (docs/methods/spectra.md §3, derived from
      the population-side one).

    Parameters
    ----------
    ratio
        c = p/n > 0.
    spikes
        1-D array of spike strengths ℓ_k > 0 (Σ has eigenvalue σ²(1 + ℓ_k)).
    variance
        σ² > 0, the noise (bulk) variance.

    Returns
    -------
    SpikedCovariancePrediction
        Per-spike arrays in the order of ``spikes``.

    Raises
    ------
    InvalidParameterError
        If a parameter is out of its domain (the message names it).
    """
    c = positive("ratio", ratio)
    sigma2 = positive("variance", variance)
    ell = finite_array("spikes", spikes)
    if ell.size == 0:
        raise InvalidParameterError("spikes", "`spikes` must contain at least one spike.")
    if np.any(ell <= 0):
        raise InvalidParameterError("spikes", "`spikes` must be > 0.")
    root = math.sqrt(c)
    upper = sigma2 * (1.0 + root) ** 2
    lower = sigma2 * (1.0 - root) ** 2
    separated = ell > root
    # Below the threshold every quantity is its value at ℓ = √c (the edge λ₊, alignments exactly 0).
    # The closed forms are evaluated at max(ℓ, √c) so that no branch divides by a tiny ℓ
    # (ℓ = 5e-324 overflowed c/ℓ), then the subcritical entries take the exact limits.
    effective = np.maximum(ell, root)
    eigenvalue = np.where(separated, sigma2 * (1.0 + effective) * (1.0 + c / effective), upper)
    side = np.where(separated, 1.0 - c / effective**2, 0.0)
    alignment = np.where(separated, side / (1.0 + c / effective), 0.0)

    notes: list[str] = []
    n_critical = int(np.count_nonzero(np.abs(ell - root) < 0.1 * root))
    if n_critical:
        notes.append(
            f"{n_critical} spike(s) within 10% of the threshold √c: finite-size convergence is slow "
            "there (critical window ℓ − √c = O(n^(-1/3)))."
        )
    if np.unique(ell).size != ell.size:
        notes.append(
            "Repeated spikes: only the projection onto their joint eigenspace converges; the per-vector "
            "alignment is the formula's value for the subspace, split evenly in expectation."
        )
    for array in (ell, separated, eigenvalue, alignment, side):
        array.setflags(write=False)
    return SpikedCovariancePrediction(
        ratio=c,
        variance=sigma2,
        support=(lower, upper),
        atom_mass=max(0.0, 1.0 - 1.0 / c),
        threshold=root,
        spike=ell,
        separated=separated,
        eigenvalue=eigenvalue,
        alignment=alignment,
        sample_side_alignment=side,
        notes=tuple(notes),
    )
