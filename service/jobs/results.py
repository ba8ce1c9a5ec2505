"""From saved chunks to the job's result; from an exception to the job's problem+json error."""

from __future__ import annotations

import math
import platform
from collections.abc import Callable, Sequence
from typing import Any

import dask
import numpy as np
import scipy

from schemas.jobs import QuantityAgreement, SimulationProvenance, SimulationResult, SpectrumAgreement
from schemas.problem import Problem
from service.exception_handlers import solver_problem
from service.problems import ProblemType
from service.serialize import finite_or_none
from service.version import SERVICE_VERSION
from solvers.montecarlo.engine import ChunkStatistics, SimulationPrediction, merge_chunks

from .kinds import KINDS
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
        relative_difference=None
        if difference is None or prediction is None or prediction == 0
        else finite_or_none(abs(difference) / abs(prediction)),
        z_score=None if difference is None or not se else finite_or_none(difference / se),
    )


def build_result(job: JobRow, chunks: Sequence[ChunkStatistics]) -> dict[str, Any]:
    """Merge the chunks (in chunk order) and compare with the stored prediction."""
    plan = job.plan
    merged = merge_chunks(chunks, cdf=plan["cdf"])
    quantities = [
        agreement(name, merged.mean[i], merged.standard_error[i], plan["predictions"][i])
        for i, name in enumerate(plan["names"])
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


def failure(job_id: str, exc: BaseException) -> dict[str, Any]:
    """The problem+json body of a failed job: the solver's message for solver errors, nothing internal otherwise."""
    instance = f"/v1/simulations/{job_id}"
    problem = solver_problem(exc, instance=instance) or Problem(
        type=ProblemType.INTERNAL_ERROR,
        title="Simulation failed",
        status=500,
        detail=f"The simulation stopped on an unexpected {type(exc).__name__}; the error was logged.",
        instance=instance,
    )
    return problem.model_dump(mode="json", exclude_none=True)


#: Version of the plan a job stores at submission. 1 (no `version` key): written before the
#: refactor, with the trial's arguments as JSON under `problem`. 2: no `problem`; the trial's
#: arguments are derived again from the job's validated `params` and `sizes` by the kind's mapper
#: (:func:`trial_arguments`), which gives the same arguments for both versions.
PLAN_VERSION = 2
PLAN_VERSIONS = (1, 2)


def prediction_plan(prediction: SimulationPrediction, *, sizes: dict[str, int]) -> dict[str, Any]:
    """What a job stores at submission: the plan version, the finite sizes and the prediction (JSON, NaN → null)."""
    grid = prediction.cdf_grid
    return {
        "version": PLAN_VERSION,
        "sizes": sizes,
        "names": list(prediction.names),
        "predictions": [
            v if math.isfinite(v) else None for v in np.asarray(prediction.values, dtype=np.float64).tolist()
        ],
        "cdf_grid": None if grid is None else np.asarray(grid, dtype=np.float64).tolist(),
        "cdf": None if prediction.cdf is None else np.asarray(prediction.cdf, dtype=np.float64).tolist(),
        "reference": prediction.reference,
        "notes": list(prediction.notes),
    }


def trial_arguments(job: JobRow, *, resolve: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """The keyword arguments of the job's trial, from its stored `params` and plan (any version of :data:`PLAN_VERSIONS`).

    ``resolve`` attaches the arrays of a stored data set named in `params.data` (the job's owner's).
    """
    version = job.plan.get("version", 1)
    if version not in PLAN_VERSIONS:
        raise RuntimeError(
            f"job {job.id} has a plan of version {version!r}; this service reads versions {PLAN_VERSIONS}"
        )
    kind = KINDS[job.kind]
    params = kind.params.model_validate(job.params)
    if resolve is not None:
        resolve(params)
    return kind.arguments(kind.trial, params, job.plan["sizes"])
