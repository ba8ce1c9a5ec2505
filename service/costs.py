"""The cost model: estimated seconds of solver work for each request type, before any work.

One function per request type, computed from the validated request alone (its sizes, never its
numbers' effect on convergence). Each returns a :class:`Cost`: a few named terms (points × atoms
× continuation levels, n³ for an eigendecomposition, grid sizes, ...), each tied to the request
field it grows with, and the executor the solver runs in when it is not tiny
(:mod:`service.compute`).

**Calibration.** The constants are seconds per unit of work, measured on the development machine
(2 shared cores, Python 3.11, numpy 2.4 / OpenBLAS, one BLAS thread) at sizes up to the caps, and
rounded up (about 1.5× the median), so that an estimate is an upper bound in ordinary conditions
(``bin/bench costs`` checks it on every README example, on the isolation benchmark's heavy
requests and on the slowest cases of a sweep over activations, kernels and sizes: solver time /
estimate 0.008–0.52 at the last calibration, 2026-12-07). HTTP and the hop to a worker process
(about 0.5–1 ms per request) are not priced; so that requests cheaper than that hop run on the
event loop, an estimate must not be loose by orders of magnitude either (a 1 ms base once sent
72-µs kernel matrices to worker processes).
They decide three things: whether a call may run on the event loop (estimate ≤
``inline_max_microseconds``), whether it is refused at once (estimate > ``request_timeout_seconds``:
422 naming the dominant term), and the ``Retry-After`` of a 503. A machine much slower than that
one should lower the budget rather than trust the estimates blindly: the deadline still stops a
computation that runs long (:mod:`service.compute`).

**Executor per solver** (measured: the longest interval a probe thread, waking every 0.5 ms, could
not get the GIL while the solver ran in another thread; and ``benchmarks/bench_isolation.py``, the
``/healthz`` latency of a live server while 4 heavy requests run, in the executor chosen here and
forced into the other one):

* ``thread`` — Marchenko–Pastur only: vectorised closed forms (≤ 6 ms GIL gaps at 10⁴ points),
  small arguments and results.
* ``process`` — everything else. The solvers driven by Python loops over small arrays or scipy
  scalar routines hold the GIL in bursts or at length: sample covariance (continuation and a
  K²-loop support search in pure Python), conjugate kernel (see below), linear ridge (133–380 ms
  gaps at a 100 × 100 grid), learning dynamics (15–20 ms), one-step gradient (17 ms). With 4 heavy requests in flight, ``/healthz``
  p99 was 83 ms (process) against 110 ms (thread) for sample covariance at 1000 atoms, 61 against
  99 ms for the conjugate kernel's former continuation solver at 10⁴ points (machine at load ~20 on
  2 cores, idle p99 16-19 ms); at load ~10: 40 against 60 ms, and 60 against 56 ms. Since its
  rewrite (issue 13) the conjugate kernel is whole-grid numpy work, ~25 ms at 10⁴ points with
  ≤ 2.1 ms GIL gaps, and the two executors tie on ``/healthz`` (p99 11–13 ms in threads, 12–16.5 ms
  in processes, two runs at load ≤ 1); it stays in processes, which answered ~20 % more of those
  requests in the same 3 s (both cores compute; threads share the interpreter between numpy calls).
  The random-features family releases the GIL where its time goes (BLAS, and LAPACK called
  through ctypes, ``solvers._lapack``: ``scipy.linalg.eigh`` held the GIL for its whole call, 4 s
  at n = 2048; ≤ 8 ms p99 gaps with ``numpy.linalg.eigh``), yet in processes it still did better: ``/healthz`` p99 57 ms
  against 85 ms (max 93 against 237 ms), two of the four n = 2048 requests finished instead of
  none (one BLAS thread per worker process instead of several per thread competing with the
  event loop), and a process past its deadline can be killed, a thread cannot.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

from schemas.conjugate_kernel import ConjugateKernelRequest, OneStepGradientRequest
from schemas.datasets import DatasetReference
from schemas.dynamics import GradientDescentClassificationRequest, GradientDescentRegressionRequest
from schemas.kernels import (
    KernelMatrixRequest,
    KernelMatrixSpectrumRequest,
    KernelRidgeRequest,
    PolynomialKernel,
    PopulationModel,
    RandomFeaturesKernel,
)
from schemas.linear_regression import LinearRidgeRequest
from schemas.neural_tangent_kernel import NeuralTangentKernelRequest
from schemas.random_features import (
    ActivationMomentsRequest,
    ActivationSpec,
    ExpectedKernelRequest,
    InlineData,
    RandomFeaturesDeterministicEquivalentRequest,
    RandomFeaturesRidgeRequest,
)
from schemas.spectra import MarchenkoPasturRequest, SampleCovarianceRequest, SpikedCovarianceRequest
from solvers.activations import activation_names, make_activation

Executor = Literal["thread", "process"]

#: There is no asynchronous form of a prediction: say so, and how to shrink it.
NO_ASYNC_FORM = (
    "There is no asynchronous form of this prediction (POST /v1/simulations runs Monte Carlo checks of a prediction "
    "at a finite size, it does not compute the prediction itself)"
)


# `Term` and `Cost` are named tuples, not frozen dataclasses: every request builds its cost, and a frozen
# dataclass sets each field through `object.__setattr__` (2.5 instead of 1.9 µs for a Marchenko–Pastur
# request's cost with its sum; issue 13). Immutable either way.
class Term(NamedTuple):
    """One part of a request's cost: what it is, the field it grows with, its estimated seconds."""

    field: str
    description: str
    seconds: float


class Cost(NamedTuple):
    """Estimated work of one request: its terms, where it runs, and how to make it cheaper."""

    terms: tuple[Term, ...]
    executor: Executor
    shrink: str

    @property
    def seconds(self) -> float:
        """The estimate: the sum of the terms."""
        return sum(term.seconds for term in self.terms)

    @property
    def dominant(self) -> Term:
        """The largest term (the one to shrink)."""
        return max(self.terms, key=lambda term: term.seconds)


def _cost(executor: Executor, shrink: str, *terms: Term) -> Cost:
    return Cost(terms=tuple(terms), executor=executor, shrink=f"{shrink}. {NO_ASYNC_FORM}.")


def _points_field(request) -> str:
    return "grid.num" if getattr(request, "grid", None) is not None else "x"


# --------------------------------------------------------------------------------------------
# spectra

_MP_BASE = 1e-4  # validation, moments, result dataclass
_MP_PER_POINT = 3e-7  # density + CDF closed forms per point (6 ms at 10⁴ points, HTTP included)


def marchenko_pastur(request: MarchenkoPasturRequest) -> Cost:
    """Closed forms: linear in the points."""
    points = request.n_points + len(request.stieltjes_at)
    return _cost(
        "thread",
        "Ask for fewer points",
        Term("(base)", "validation and moments", _MP_BASE),
        Term(_points_field(request), f"{points} evaluation points", _MP_PER_POINT * points),
    )


# Measured (solver alone, one BLAS thread, median of 3; 1–1000 atoms × 1–1000 points): 4–13 ms up to 10
# atoms whatever the points, 9 / 37 / 232 / 2400 ms at 30 / 100 / 300 / 1000 atoms and one point, and
# 0.55 µs (large K) to 1.7 µs (K ≤ 5) per point × (K + 3). Rounded up: every case of that grid is
# below its estimate (the former base of 3 ms was 1.2–2.8× short of small requests, the former
# atoms² term 5–7× long at 100–1000 atoms). `bin/bench costs` checks every README example.
_SC_BASE = 16e-3
_SC_SUPPORT_PER_ATOM2 = 2.5e-6  # edge search: a grid of ~100 K points × K atoms, Brent in pure Python
_SC_PER_POINT_ATOM = 1.5e-6  # ~40 continuation levels × safeguarded Newton over K atoms, per point


def sample_covariance(request: SampleCovarianceRequest) -> Cost:
    """Support search ∝ atoms², then continuation ∝ (points + 2·atoms probes) × atoms × levels."""
    atoms = len(request.population.eigenvalues)
    points = request.n_points + len(request.stieltjes_at)
    return _cost(
        "process",
        "Give fewer population atoms (merge nearby eigenvalues into one atom with the summed weight) or fewer points",
        Term("(base)", "validation", _SC_BASE),
        Term(
            "population.eigenvalues",
            f"support search over {atoms} population atoms (∝ atoms²)",
            _SC_SUPPORT_PER_ATOM2 * atoms * atoms + _SC_PER_POINT_ATOM * 2 * atoms * (atoms + 3),
        ),
        Term(
            _points_field(request),
            f"{points} points × {atoms} atoms × ~40 continuation levels",
            _SC_PER_POINT_ATOM * points * (atoms + 3),
        ),
    )


def spiked_covariance(request: SpikedCovarianceRequest) -> Cost:
    """Closed forms per spike."""
    spikes = len(request.spikes)
    return _cost(
        "process",
        "Ask for fewer spikes",
        Term("(base)", "validation", 1e-4),  # 36–60 µs measured at the README size
        Term("spikes", f"{spikes} spikes", 2e-6 * spikes),
    )


# --------------------------------------------------------------------------------------------
# linear regression and learning dynamics

_LR_BASE = 1e-3
_LR_PER_POINT = 3e-6  # isotropic closed forms (70 ms for 100 × 100 plus 100 optimisations)
_LR_PER_POINT_ATOM = 3e-7  # fixed-point equation over K atoms per grid point
_LR_OPTIMUM_POINTS = 200  # the bounded search for γ* per ratio evaluates ~200 points


def linear_ridge(request: LinearRidgeRequest) -> Cost:
    """(ratios × penalties + ~200 evaluations per ratio for γ*) × (1 + atoms)."""
    ratios, penalties = len(request.ratios), len(request.ridge_penalties)
    atoms = len(request.population.eigenvalues) if request.population else 0
    grid = ratios * penalties + _LR_OPTIMUM_POINTS * ratios
    grid_seconds = grid * (_LR_PER_POINT + _LR_PER_POINT_ATOM * atoms)
    return _cost(
        "process",
        "Ask for fewer ratios, ridge penalties or population atoms",
        Term("(base)", "validation", _LR_BASE),
        Term(
            "ridge_penalty",
            f"{ratios} ratios × ({penalties} penalties + ~{_LR_OPTIMUM_POINTS} for the optimum) × {1 + atoms} atom terms",
            grid_seconds,
        ),
    )


_GD_BASE = 8e-3  # limit values + the optimal-stopping search (~200 curve evaluations; 2.6–5.1 ms measured)
_GD_PER_NODE_TIME = 1.5e-7  # one quadrature node at one time, all quantities
_GD_BASE_NODES, _GD_NODES_PER_SQRT, _GD_MAX_NODES = 64, 6.0, 1 << 18


def _gd_nodes(request: GradientDescentClassificationRequest | GradientDescentRegressionRequest) -> float:
    """Σ_t quadrature nodes(t), mirroring the node rule of solvers/dynamics.py (MP support of ratio c)."""
    c = request.aspect_ratio
    lower, upper = (1.0 - math.sqrt(c)) ** 2, (1.0 + math.sqrt(c)) ** 2
    half = (upper - lower) / 2.0
    alpha, gamma = request.learning_rate, request.ridge_penalty
    if request.mode == "gd":
        q = min(abs(1.0 - alpha * (lower + gamma)), abs(1.0 - alpha * (upper + gamma)))
        scale = 2.0 * alpha * half / max(q, 1e-3)
    else:
        scale = 2.0 * alpha * half
    total = 0.0
    for t in request.times:
        need = _GD_BASE_NODES + _GD_NODES_PER_SQRT * math.sqrt(max(scale * t, 0.0))
        if request.mode == "gd":
            need = min(need, t + 1.0)
        total += min(max(need, _GD_BASE_NODES), _GD_MAX_NODES)
    return total


def _gradient_descent(request) -> Cost:
    nodes = _gd_nodes(request)
    return _cost(
        "process",
        "Ask for fewer times, or shorter ones (the quadrature needs ~√t nodes per time)",
        Term("(base)", "limit values and the optimal-stopping search", _GD_BASE),
        Term(
            "time",
            f"{request.n_times} times × ~{nodes / max(request.n_times, 1):.0f} quadrature nodes",
            _GD_PER_NODE_TIME * nodes,
        ),
    )


def gradient_descent_classification(request: GradientDescentClassificationRequest) -> Cost:
    """Σ over the times of the quadrature nodes each needs, plus the optimal-stopping search."""
    return _gradient_descent(request)


def gradient_descent_regression(request: GradientDescentRegressionRequest) -> Cost:
    """Σ over the times of the quadrature nodes each needs, plus the optimal-stopping search."""
    return _gradient_descent(request)


# --------------------------------------------------------------------------------------------
# random features

#: Activations whose expected kernel is a Hermite series, and those whose Gaussian moments take a trapezoid rule
#: (the others have closed forms): read from the solvers' catalogue, so that a new activation is costed as it is solved.
_SERIES = frozenset(name for name in activation_names() if not make_activation(name).has_closed_form_kernel)
_QUADRATURE_MOMENTS = frozenset(
    name for name in activation_names() if not make_activation(name).has_closed_form_moments
)
# Closed forms: 0.19-0.32 ms (medians) for every closed-form activation at n ≤ 30 (the route's regime warnings
# included), 0.40 ms once on a noisy machine: the base is 1.5 × the largest median. Hermite series (measured 2026-12-07, one
# BLAS thread, the five activations, n = 1-2048): the cost follows the series' order L, which grows with the samples'
# norms up to its cap of 600 (tanh: L ≈ 170 at norm 1, 600 from norm 2; the others reach 600 by norm ~10), and the
# Mehler sum costs L multiply-adds per entry: 0.1-0.5 µs per entry at norm 1, 1.6-2.1 µs at L = 600 (n = 1000-2048).
# The estimate assumes L = 600: 2.5e-6 per entry is 1.2 × the largest measured, not the usual 1.5 ×, because at the
# cap of samples (n = n̂ = 2048) 1.5 × would refuse random-features requests that finish well within the default
# budget. The base covers the tabulation and the 2-D quadrature of the pairs the series leaves inaccurate: 4-24 ms at
# n ≤ 40 and norms ≤ 3, 34 ms at norm 10. Only data far outside the theorem's regime (norms ≥ 30, which the response
# warns about) ran past it: 117 ms at n = 100, norm 30, against 66 ms estimated; the deadline bounds that case.
# (The former 8e-3 + 5e-7 per entry was 1.8-6.6 × short from n = 10 on.) Since each entry is summed only to the order
# its correlation needs (solvers.activations._mehler), data with |ρ_ij| ≈ 0.1 off the diagonal take 5-20 × less than
# this; strongly correlated samples (|ρ| ≥ 0.9, e.g. raw non-negative pixels) still need most of the L terms.
_KERNEL_BASE = {False: 5e-4, True: 4e-2}
_KERNEL_PER_ENTRY = {False: 1.5e-7, True: 2.5e-6}  # arc-cosine closed form / Mehler series, per kernel entry
_GEMM_PER_FLOP = 1e-10  # X Xᵀ products and the (n̂ × n)(n × G d) bias products, per multiply-add
# The passes over the inputs themselves (finiteness check, squared norms, scaling): ~1-1.6 ns per entry, measured with
# kernel matrices of 2 × 10⁵ and 10 × 2 × 10⁴ entries (431 and 453 µs), where they, not the n² kernel, are the work.
_INPUT_PER_ENTRY = 2.5e-9
_EIGH_PER_N3 = 2.5e-10  # numpy.linalg.eigh (syevd), per n³ (n = 2048: ~2 s)
_EIGVALSH_PER_N3 = 1e-10  # eigenvalues only
_DRAW_PER_VALUE = 2e-8  # Gaussian-mixture draws


def _is_series(spec: ActivationSpec) -> bool:
    return spec.name in _SERIES


def _kernel_terms(field: str, n: int, n_test: int, p: int, spec: ActivationSpec, *, drawn: bool) -> list[Term]:
    series = _is_series(spec)
    entries = n * n + n * n_test + n_test
    seconds = (
        _KERNEL_BASE[series]
        + _KERNEL_PER_ENTRY[series] * entries
        + _GEMM_PER_FLOP * (n * n + n * n_test) * p
        + _INPUT_PER_ENTRY * (n + n_test) * p
    )
    if drawn:
        seconds += _DRAW_PER_VALUE * (n + n_test) * p
    kind = "Hermite-series" if series else "closed-form"
    return [Term(field, f"{kind} expected kernel of {n} × {n + n_test} entries over {p} features", seconds)]


# Measured 2026-12-07 (every activation of the catalogue, medians of 5 after a cold call): 2-3 µs for a closed
# form, 39-47 µs for the trapezoid rule of the five activations without one (cold: up to 250 µs, once per process).
_MOMENTS_SECONDS = {False: 2e-5, True: 1.5e-4}  # {quadrature: seconds}; a noisier run: 71-81 µs for the rule


def activation_moments(request: ActivationMomentsRequest) -> Cost:
    """A closed form, or a trapezoid rule in one variable for the activations without one."""
    quadrature = request.activation.name in _QUADRATURE_MOMENTS
    what = "trapezoid rule for σ's Gaussian moments" if quadrature else "σ's Gaussian moments in closed form"
    return _cost("process", "Nothing to shrink", Term("activation", what, _MOMENTS_SECONDS[quadrature]))


def expected_kernel(request: ExpectedKernelRequest) -> Cost:
    """n × (n + n̂) kernel entries (closed form or Hermite series) and the n(n + n̂)p Gram products."""
    n, p = len(request.x), len(request.x[0])
    n_test = len(request.x_test) if request.x_test is not None else 0
    return _cost(
        "process",
        "Send fewer samples (the kernel has n × (n + n̂) entries)",
        *_kernel_terms("x", n, n_test, p, request.activation, drawn=False),
    )


def _data_sizes(data) -> tuple[str, int, int, int, int]:
    """(field of n, n, n̂, p, outputs d) of inline, stored (resolved) or generated data."""
    if isinstance(data, DatasetReference):
        y = data.arrays.y
        return "data.id", data.n_samples, data.n_test, data.n_features, 1 if y.ndim == 1 else int(y.shape[1])
    if isinstance(data, InlineData):
        outputs = 1
        if data.y and isinstance(data.y[0], list):
            outputs = len(data.y[0])
        return "data.x", data.n_samples, data.n_test, data.n_features, outputs
    outputs = 1 if data.n_classes == 2 else data.n_classes
    return "data.n_samples", data.n_samples, data.n_test, data.n_features, outputs


def random_features_deterministic_equivalent(request: RandomFeaturesDeterministicEquivalentRequest) -> Cost:
    """The n × n kernel and its eigenvalues (n³)."""
    field, n, _, p, _ = _data_sizes(request.data)
    return _cost(
        "process",
        "Use fewer samples n (the eigenvalues of an n × n kernel cost n³)",
        *_kernel_terms(field, n, 0, p, request.activation, drawn=not isinstance(request.data, InlineData)),
        Term(field, f"eigenvalues of the {n} × {n} kernel (n³)", _EIGVALSH_PER_N3 * n**3),
    )


def random_features_ridge(request: RandomFeaturesRidgeRequest) -> Cost:
    """Kernel, one n × n eigendecomposition (n³), then one (n̂ × n)(n × G d) product for the grid and
    about 60 more per N for the optimal γ."""
    field, n, n_test, p, outputs = _data_sizes(request.data)
    neurons, penalties = len(request.neuron_counts), len(request.ridge_penalties)
    grid = neurons * penalties + neurons * (7 * 8 + (0 if penalties >= 3 else 25))
    grid_field = "n_neurons" if request.n_neurons is not None else "neurons_per_sample"
    return _cost(
        "process",
        "Use fewer samples n (the eigendecomposition costs n³) or fewer N × γ combinations",
        *_kernel_terms(field, n, n_test, p, request.activation, drawn=not isinstance(request.data, InlineData)),
        Term(field, f"eigendecomposition of the {n} × {n} kernel (n³)", _EIGH_PER_N3 * n**3),
        Term(
            grid_field,
            f"{neurons} N × {penalties} γ combinations and the γ* search, each an n × n̂ × d = {n} × {n_test} × {outputs} product",
            _GEMM_PER_FLOP * grid * n * max(n_test, 1) * outputs,
        ),
    )


def random_features_spectral(request: RandomFeaturesRidgeRequest) -> Cost:
    """What a stored data set's cache entry costs once: its kernel and one n × n eigendecomposition (n³)."""
    field, n, n_test, p, _ = _data_sizes(request.data)
    return _cost(
        "process",
        "Use a data set with fewer samples n (the eigendecomposition costs n³)",
        *_kernel_terms(field, n, n_test, p, request.activation, drawn=False),
        Term(field, f"eigendecomposition of the {n} × {n} kernel (n³)", _EIGH_PER_N3 * n**3),
    )


def random_features_ridge_from_spectral(request: RandomFeaturesRidgeRequest) -> Cost:
    """A grid from a cached decomposition: O(n) per (N, γ) point and the γ* search, in a thread (BLAS
    releases the GIL, and the cached arrays are not copied to a process)."""
    _field, n, n_test, _, outputs = _data_sizes(request.data)
    neurons, penalties = len(request.neuron_counts), len(request.ridge_penalties)
    grid = neurons * penalties + neurons * (7 * 8 + (0 if penalties >= 3 else 25))
    grid_field = "n_neurons" if request.n_neurons is not None else "neurons_per_sample"
    return _cost(
        "thread",
        "Ask for fewer N × γ combinations",
        Term(
            grid_field,
            f"{neurons} N × {penalties} γ combinations from the cached decomposition",
            _GEMM_PER_FLOP * grid * n * max(n_test, 1) * outputs,
        ),
    )


# --------------------------------------------------------------------------------------------
# kernel matrices (the kernel spec): evaluation, limiting spectrum, kernel ridge

# Measured 2026-12-07 (one BLAS thread, every kernel of the spec but random features, each function f of the
# catalogue, n ≤ 40, n̂ ≤ 10, p ≤ 30; two runs): 13-30 µs at n = 1, up to 70 µs at n = 3 in the slower run, 35-90 µs at
# 2000 entries (medians of 5 after a cold call).
_KM_BASE = 1e-4  # norms, the Gram matrix, the profile's closed form (~1.5 × the largest median at n ≤ 3, 70 µs)
_KM_PER_ENTRY = 5e-8  # one kernel entry from its inner products and norms (exp/erf/series of the profile)
# (xᵀy/p + a)^d with a base of either sign: libm's pow takes its slow path on negative bases, ~125 ns per entry
# at degrees 3-20 against 15-30 ns for a positive base (measured, n = 40, n̂ = 10).
_KM_PER_ENTRY_POLYNOMIAL = 2e-7


def kernel_matrix(request: KernelMatrixRequest) -> Cost:
    """n(n + n̂)p Gram products and n(n + n̂) kernel entries; the random-features kernel costs what
    ``/v1/kernels/expected`` does on the same data (it is that computation, on x/√p)."""
    n, p = len(request.x), len(request.x[0])
    n_test = len(request.x_test) if request.x_test is not None else 0
    shrink = "Send fewer samples (the kernel has n × (n + n̂) entries)"
    kernel: object = request.kernel  # (a union built at run time: mypy narrows an `object`, not that)
    if isinstance(kernel, RandomFeaturesKernel):
        return _cost("process", shrink, *_kernel_terms("x", n, n_test, p, kernel.activation, drawn=False))
    entries = n * (n + n_test)
    per_entry = _KM_PER_ENTRY_POLYNOMIAL if isinstance(kernel, PolynomialKernel) else _KM_PER_ENTRY
    return _cost(
        "process",
        shrink,
        Term("(base)", "norms, Gram matrix and the kernel's profile", _KM_BASE),
        Term(
            "x",
            f"{entries} kernel entries of {p} features",
            per_entry * entries + _GEMM_PER_FLOP * entries * p + _INPUT_PER_ENTRY * (n + n_test) * p,
        ),
    )


def kernel_matrix_spectrum(request: KernelMatrixSpectrumRequest) -> Cost:
    """The kernel's Taylor coefficients, then a Marchenko–Pastur image (closed form) or a generalized MP law
    (continuation ∝ points × atoms, as the sample-covariance endpoint)."""
    model = request.data_model
    atoms = len(model.eigenvalues) if isinstance(model, PopulationModel) else 0
    points = request.n_points
    field = "data_model.eigenvalues" if atoms else _points_field(request)
    seconds = (
        _SC_SUPPORT_PER_ATOM2 * atoms * atoms + _SC_PER_POINT_ATOM * (points + 2 * atoms) * (atoms + 3)
        if atoms
        else _MP_PER_POINT * points
    )
    return _cost(
        "process",
        "Ask for fewer points or give fewer population atoms",
        Term("(base)", "the kernel's profile, its derivatives and the outliers", 2e-2),
        Term(field, f"{points} points" + (f" × {atoms} population atoms" if atoms else ""), seconds),
    )


def kernel_ridge(request: KernelRidgeRequest) -> Cost:
    """Linear ridge at an effective penalty on every ratio × penalty, plus the optimum per ratio."""
    ratios, penalties = len(request.ratios), len(request.ridge_penalties)
    atoms = len(request.population.eigenvalues) if request.population else 0
    grid = ratios * penalties + _LR_OPTIMUM_POINTS * ratios
    return _cost(
        "process",
        "Ask for fewer ratios, ridge penalties or population atoms",
        Term("(base)", "the kernel's profile and its linearisation", 2e-2),
        Term(
            "ridge_penalty",
            f"{ratios} ratios × {penalties} penalties and the optimum",
            grid * (_LR_PER_POINT + _LR_PER_POINT_ATOM * atoms),
        ),
    )


# --------------------------------------------------------------------------------------------
# spectra of random networks

# Measured 2026-12-06 (one BLAS thread; tanh, relu, erf, sigmoid; random ratios and N/n, both matrices): 3-6 ms at
# 1 point, 5-8 ms at 1000, 5-16 ms at 4000, 5-26 ms at 10⁴ points (max): ~2e-6 s per point over a ~6 ms base.
_CK_BASE = 1e-2  # the quartic's coefficients, the support from its discriminant, the activation constants
_CK_PER_POINT = 3e-6  # roots of the quartic by batched 4 × 4 companion eigenvalues, branch choice, the CDF


def conjugate_kernel(request: ConjugateKernelRequest) -> Cost:
    """The quartic's roots per point, plus a fixed part for the support and the CDF."""
    points = request.n_points
    return _cost(
        "process",
        "Ask for fewer points",
        Term("(base)", "support, outliers and the CDF", _CK_BASE),
        Term(_points_field(request), f"{points} points (a quartic's roots each)", _CK_PER_POINT * points),
    )


# Measured 2026-12-07 (every student activation × teacher links relu, tanh, linear; 1-20 step sizes; medians of 5
# after a cold call): 28-67 µs when both have closed-form moments, up to 104 µs with a quadrature for the student's,
# up to 165 µs with one for the link's (the link's moments take more of them); ~2e-8 s per step size (10⁴ of them:
# +170 µs). A noisier run: 152 µs for a tanh student with a linear link.
_OSG_BASE = 1e-4
_OSG_QUADRATURE = {"activation": 1e-4, "teacher.link": 1.2e-4}  # extra seconds when σ (or f*) has no closed form
_OSG_PER_LEARNING_RATE = 3e-8


def one_step_gradient(request: OneStepGradientRequest) -> Cost:
    """Closed forms per step size plus the Gaussian moments of the activation and of the teacher's link."""
    etas = request.n_learning_rates
    moments = _OSG_BASE
    for field, spec in (("activation", request.activation), ("teacher.link", request.teacher.link)):
        if spec.name in _QUADRATURE_MOMENTS:
            moments += _OSG_QUADRATURE[field]
    return _cost(
        "process",
        "Ask for fewer step sizes",
        Term("(base)", "the activation's and the link's Gaussian moments, and the bulk edge", moments),
        Term("learning_rate", f"{etas} step sizes", _OSG_PER_LEARNING_RATE * etas),
    )


# Measured 2026-12-07 (one BLAS thread; tanh, relu, erf, sigmoid; p/n in [0.5, 3] and N/n in [0.2, 3] drawn afresh for
# each call, two per activation): 0.11-0.31 s at 1 point (support search, the Chebyshev CDF, σ's Gaussian constants),
# 0.14-0.27 s at 1000, 0.19-0.37 s at 4000, 0.17-0.68 s at 10⁴ points: ~3e-5 s per point (median slope 1000 → 10⁴).
# (Since the quintic's coefficients are built once per law, solvers/neural_tangent_kernel.py; before, 0.18-0.50 s at
# 1 point and 0.30-1.03 s at 10⁴ in the same run.)
_NTK_BASE = 0.35  # support edges, the CDF's Chebyshev antiderivative, the activation constants (above the largest)
_NTK_PER_POINT = 5e-5  # 60 continuation levels of a degree-≤6 polynomial root solve + Newton per point (1.5 × median)


def neural_tangent_kernel(request: NeuralTangentKernelRequest) -> Cost:
    """Continuation per point, plus a fixed part for the support, the CDF and the activation's constants."""
    points = request.n_points
    return _cost(
        "process",
        "Ask for fewer points (each costs ~60 continuation levels)",
        Term("(base)", "support, CDF and the activation's Gaussian constants", _NTK_BASE),
        Term(_points_field(request), f"{points} points × ~60 continuation levels", _NTK_PER_POINT * points),
    )
