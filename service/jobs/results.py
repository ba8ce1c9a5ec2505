"""From saved chunks to the job's result; from an exception to the job's problem+json error."""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from typing import Any

import dask
import numpy as np
import scipy

from schemas.jobs import QuantityAgreement, SimulationProvenance, SimulationResult, SpectrumAgreement
from schemas.problem import Problem
from service.problems import ProblemType
from service.serialize import finite_or_none
from service.version import SERVICE_VERSION
from solvers.exceptions import ConvergenceError, DivergentLimitError, InvalidParameterError
from solvers.montecarlo.jobs_trials import ChunkStatistics, merge_chunks

from .store import JobRow


def _versions() -> dict[str, str]:
    return {
        "rmt-service": SERVICE_VERSION,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "dask": dask.__version__,
        "python": platform.python_version(),
    }


def agreement(name: str, mean: float, standard_error: float, prediction: float | None) -> QuantityAgreement:
    """One quantity's estimate against its prediction; every non-finite number becomes null."""
    mean_, se = finite_or_none(mean), finite_or_none(standard_error)
    difference = None if mean_ is None or prediction is None else mean_ - prediction
    return QuantityAgreement(
        name=name,
        empirical_mean=mean_,
        standard_error=se,
        prediction=prediction,
        absolute_difference=None if difference is None else finite_or_none(abs(difference)),
        relative_difference=None if difference is None or prediction == 0 else finite_or_none(abs(difference) / abs(prediction)),
        z_score=None if difference is None or not se else finite_or_none(difference / se),
    )


def build_result(job: JobRow, chunks: Sequence[ChunkStatistics]) -> dict[str, Any]:
    """Merge the chunks (in chunk order) and compare with the stored prediction."""
    plan = job.plan
    merged = merge_chunks(chunks, cdf=plan["cdf"])
    quantities = [
        agreement(name, merged.mean[i], merged.standard_error[i], plan["predictions"][i]) for i, name in enumerate(plan["names"])
    ]
    spectrum = None
    if merged.ks_distance is not None:
        spectrum = SpectrumAgreement(
            ks_distance=merged.ks_distance,
            resolution=merged.ks_resolution or 0.0,
            grid_points=len(plan["cdf_grid"]),
            eigenvalues=merged.eigenvalues,
        )
    provenance = SimulationProvenance(
        seed_entropy=job.seed,
        trials=merged.count,
        sizes=plan["sizes"],
        chunks=job.n_chunks,
        reference=plan["reference"],
        notes=plan["notes"],
        versions=_versions(),
    )
    return SimulationResult(quantities=quantities, spectrum=spectrum, provenance=provenance).model_dump(mode="json")


_SOLVER_PROBLEMS = {
    InvalidParameterError: (ProblemType.INVALID_PARAMETER, "Parameter outside the formula's domain"),
    DivergentLimitError: (ProblemType.DIVERGENT_LIMIT, "The limit does not exist"),
    ConvergenceError: (ProblemType.DID_NOT_CONVERGE, "The solver did not converge"),
}


def failure(job_id: str, exc: BaseException) -> dict[str, Any]:
    """The problem+json body of a failed job: the solver's message for solver errors, nothing internal otherwise."""
    for cls, (type_, title) in _SOLVER_PROBLEMS.items():
        if isinstance(exc, cls):
            problem = Problem(type=type_, title=title, status=422, detail=str(getattr(exc, "message", exc)), instance=f"/v1/simulations/{job_id}")
            break
    else:
        problem = Problem(
            type=ProblemType.INTERNAL_ERROR,
            title="Simulation failed",
            status=500,
            detail=f"The simulation stopped on an unexpected {type(exc).__name__}; the error was logged.",
            instance=f"/v1/simulations/{job_id}",
        )
    return problem.model_dump(mode="json", exclude_none=True)


def prediction_plan(prediction: Any, *, problem: dict[str, Any], sizes: dict[str, int]) -> dict[str, Any]:
    """What a job stores at submission: the trial's arguments and the prediction (JSON, NaN → null)."""
    grid = prediction.cdf_grid
    return {
        "problem": problem,
        "sizes": sizes,
        "names": list(prediction.names),
        "predictions": [v if math.isfinite(v) else None for v in np.asarray(prediction.values, dtype=np.float64).tolist()],
        "cdf_grid": None if grid is None else np.asarray(grid, dtype=np.float64).tolist(),
        "cdf": None if prediction.cdf is None else np.asarray(prediction.cdf, dtype=np.float64).tolist(),
        "reference": prediction.reference,
        "notes": list(prediction.notes),
    }
