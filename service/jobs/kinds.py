"""THE registry of simulation kinds: adding a kind is one line in ``KINDS``.

A kind ties a prediction's request schema (``params``) to two pure functions of
``solvers/montecarlo/jobs_trials.py`` — a trial and a prediction — and to how the requested
``size`` becomes finite dimensions. Both functions receive, by keyword, exactly the arguments
their signature names, taken from the finite dimensions first and then from
``params.model_dump(mode="json")`` (plain JSON values: no pydantic reaches the solvers).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from schemas.jobs import SimulationSize
from schemas.linear_regression import LinearRidgeRequest
from schemas.spectra import MarchenkoPasturRequest
from solvers.exceptions import InvalidParameterError
from solvers.montecarlo import jobs_trials as trials

#: n when neither `size` nor the counts in `params` give it.
DEFAULT_N_SAMPLES = 400

Dimensions = Callable[[BaseModel, SimulationSize | None], dict[str, int]]


def _one_ratio(params: BaseModel) -> float:
    ratio = getattr(params, "aspect_ratio", None)
    if ratio is None:
        ratios = params.ratios  # type: ignore[attr-defined]
        if len(ratios) != 1:
            raise InvalidParameterError("params.ratio", f"`ratio` must be one value for a simulation, got {len(ratios)}.")
        ratio = ratios[0]
    return float(ratio)


def ratio_dimensions(params: BaseModel, size: SimulationSize | None) -> dict[str, int]:
    """p × n from a request with `ratio` (one value) or `n_features` + `n_samples`.

    n from `size` (else the counts, else 400), p = round(c·n).
    """
    counts = getattr(params, "n_samples", None), getattr(params, "n_features", None)
    if size is None and all(v is not None for v in counts):
        return {"n_features": int(counts[1]), "n_samples": int(counts[0])}  # type: ignore[arg-type]
    n_samples = size.n_samples if size is not None else DEFAULT_N_SAMPLES
    return {"n_features": max(1, round(_one_ratio(params) * n_samples)), "n_samples": n_samples}


@dataclass(frozen=True)
class Kind:
    """One simulation kind: params schema, trial, prediction, dimensions, and a one-line description."""

    params: type[BaseModel]
    trial: Callable[..., trials.TrialDraw]
    prediction: Callable[..., trials.SimulationPrediction]
    dimensions: Dimensions
    description: str

    def arguments(self, function: Callable[..., Any], params: Mapping[str, Any], sizes: Mapping[str, int]) -> dict[str, Any]:
        """The keyword arguments ``function`` names, from ``sizes`` first, then ``params``; never ``rng``."""
        names = [name for name in inspect.signature(function).parameters if name != "rng"]
        merged = {**params, **sizes}
        return {name: merged[name] for name in names if name in merged}


# fmt: off
KINDS: dict[str, Kind] = {
    "marchenko_pastur": Kind(MarchenkoPasturRequest, trials.marchenko_pastur_trial, trials.marchenko_pastur_prediction, ratio_dimensions, "S = (1/n)XXᵀ, X p×n Gaussian: moments M₁..M_K, KS distance of the pooled ESD to the MP law."),
    "linear_ridge": Kind(LinearRidgeRequest, trials.linear_ridge_trial, trials.linear_ridge_prediction, ratio_dimensions, "Gaussian design X = ZΣ^½ and β: exact conditional bias, variance, risk, test MSE and training error per ridge penalty."),
}
# fmt: on
