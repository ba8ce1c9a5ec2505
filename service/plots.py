"""Plots of the answers (SVG or PNG), drawn with matplotlib's object-oriented API on the Agg canvas.

Never pyplot: its global figure manager is not thread-safe, and plots are drawn in worker threads.
Each drawing function takes a `matplotlib.figure.Figure` and a validated response model. The
artists that carry meaning have an SVG id (`gid`): `density`, `cdf`, `atom`, `edge-<i>-lower`,
`edge-<i>-upper`, `outlier-<i>`, `interpolation-threshold`, `peak-<i>`, `optimum...`, `limit`,
`threshold`, `bulk-edge`, `empirical-<i>`, `theory-<i>` — clients (and tests) can find them.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

#: Most curves drawn in one family plot; more are thinned to evenly spaced ones (the title says so).
MAX_CURVES = 10
#: Most panels of a simulation-job plot.
MAX_PANELS = 12

# Text stays text in SVG (searchable, selectable), and the file has no date, so that it is reproducible.
_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "rmt-service",
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
# Matplotlib's shared state (font cache, rcParams, text layout) is not documented as thread-safe:
# one plot at a time. A plot takes tens of milliseconds, so the queue stays short.
_LOCK = threading.Lock()


def render(draw: Callable[[Figure, Any], None], answer: Any, fmt: str) -> bytes:
    """Draw ``answer`` with ``draw`` on a new figure and return it as ``fmt`` ("svg" or "png")."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with _LOCK, matplotlib.rc_context(_STYLE):
        # Fixed margins: a layout engine (constrained, tight) would double the cost of every plot.
        figure = Figure(figsize=(7.0, 4.8), dpi=100)
        figure.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.93, hspace=0.1)
        draw(figure, answer)
        buffer = io.BytesIO()
        if fmt == "png":
            FigureCanvasAgg(figure).print_png(buffer, metadata={"Software": None})
        else:
            FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None, "Creator": None})
        return buffer.getvalue()


# --- helpers ----------------------------------------------------------------------------------


def _nan(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _scale(ax: Axes, axis: str, values: Sequence[float]) -> None:
    """Log scale when positive values span more than a factor 20; symlog when 0 is among them."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    positive = [v for v in finite if v > 0]
    if len(positive) < 2 or max(positive) / min(positive) <= 20 or any(v < 0 for v in finite):
        return
    setter, scale = (ax.set_xscale, ax.xaxis) if axis == "x" else (ax.set_yscale, ax.yaxis)
    if len(positive) == len(finite):
        setter("log")
    else:
        setter("symlog", linthresh=min(positive))
    # Plain labels (1e-03, 0.1, 10): the default 10^k labels go through mathtext, which costs more
    # than the rest of the plot.
    scale.set_major_formatter("{x:g}")
    scale.set_minor_formatter("")


def _thin(keys: list[float]) -> tuple[list[float], str]:
    if len(keys) <= MAX_CURVES:
        return keys, ""
    step = (len(keys) - 1) / (MAX_CURVES - 1)
    kept = [keys[round(i * step)] for i in range(MAX_CURVES)]
    return kept, f" ({MAX_CURVES} of {len(keys)} shown)"


def _peak(ax: Axes, x: list[float], y: list[float], *, gid: str, color: str, label: str | None) -> None:
    """Mark the maximum of a curve when it is interior (a peak, not a monotone end)."""
    finite = [(i, v) for i, v in enumerate(y) if math.isfinite(v)]
    if len(finite) < 3:
        return
    i, value = max(finite, key=lambda item: item[1])
    if i in (finite[0][0], finite[-1][0]):
        return
    ax.plot([x[i]], [value], marker="v", markersize=9, color=color, linestyle="none", gid=gid, label=label)


def _fmt(value: float) -> str:
    return f"{value:.3g}"


# --- spectra ----------------------------------------------------------------------------------


def _law(
    figure: Figure,
    answer: Any,
    *,
    title: str,
    intervals: list[tuple[float, float]],
    outliers: Sequence[tuple[float, str]] = (),
) -> None:
    """:func:`_spectrum` of an answer carrying ``x``, ``density``, ``cdf`` and ``atom`` (every spectrum endpoint)."""
    _spectrum(
        figure,
        title=title,
        x=answer.x,
        density=answer.density,
        cdf=answer.cdf,
        intervals=intervals,
        atom=(answer.atom.location, answer.atom.mass),
        outliers=outliers,
    )


def _spectrum(
    figure: Figure,
    *,
    title: str,
    x: list[float],
    density: list[float | None],
    cdf: list[float | None],
    intervals: list[tuple[float, float]],
    atom: tuple[float, float],
    outliers: Sequence[tuple[float, str]] = (),
) -> None:
    """Density (with atom, support edges and outliers marked) above the CDF."""
    ax, ax_cdf = figure.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    ax.plot(x, _nan(density), color="C0", gid="density", label="density")
    for i, (lower, upper) in enumerate(intervals):
        label = "support edges" if i == 0 else None
        ax.axvline(lower, color="0.4", linestyle=":", gid=f"edge-{i}-lower", label=label)
        ax.axvline(upper, color="0.4", linestyle=":", gid=f"edge-{i}-upper")
    location, mass = atom
    if mass > 0:
        ax.axvline(
            location,
            color="C3",
            linewidth=2.5,
            alpha=0.7,
            gid="atom",
            label=f"atom at {_fmt(location)}, mass {_fmt(mass)}",
        )
    ends = [v for v in x if math.isfinite(v)] + [v for pair in intervals for v in pair]
    lower, upper = min(ends), max(ends)
    reach = upper + 0.5 * (upper - lower)
    for i, (where, label) in enumerate(outliers):
        if where <= reach:
            ax.axvline(where, color="C1", linestyle="--", gid=f"outlier-{i}", label=label)
        else:  # far to the right (e.g. the mean outlier ~ N): named at the edge rather than squashing the bulk
            ax.annotate(
                f"{label} →",
                xy=(0.99, 0.75 - 0.08 * i),
                xycoords="axes fraction",
                ha="right",
                color="C1",
                fontsize="small",
                gid=f"outlier-{i}",
            )
    ax.set_ylabel("density")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize="small")
    ax.set_title(title)
    ax_cdf.plot(x, _nan(cdf), color="C2", gid="cdf")
    ax_cdf.set_ylim(-0.02, 1.02)
    ax_cdf.set_ylabel("CDF")
    ax_cdf.set_xlabel("eigenvalue x")


def marchenko_pastur(figure: Figure, answer: Any) -> None:
    """Marchenko–Pastur density and CDF, with the edges λ± and the atom at 0."""
    _law(
        figure,
        answer,
        title="Marchenko–Pastur law",
        intervals=[(answer.support.lower, answer.support.upper)],
    )


def sample_covariance(figure: Figure, answer: Any) -> None:
    """Generalized Marchenko–Pastur density and CDF, with every support interval and the atom."""
    _law(
        figure,
        answer,
        title="Generalized Marchenko–Pastur law",
        intervals=[(i.lower, i.upper) for i in answer.support_intervals],
    )


def conjugate_kernel(figure: Figure, answer: Any) -> None:
    """Conjugate-kernel density and CDF, with the support, the atom and the predicted outliers."""
    outliers = [
        (o.location, f"outlier ({o.source}, {o.validity}) at {_fmt(o.location)}")
        for o in answer.outliers
        if o.location is not None
    ]
    _law(
        figure,
        answer,
        title=f"Conjugate-kernel spectrum ({answer.matrix})",
        intervals=[(i.lower, i.upper) for i in answer.support],
        outliers=outliers,
    )


def kernel_matrix_spectrum(figure: Figure, answer: Any) -> None:
    """Kernel-matrix bulk (an affine image of Marchenko–Pastur), its atom and the O(1) outliers (order-n ones are off scale)."""
    outliers = [
        (o.eigenvalue, f"outlier ({o.validity}) at {_fmt(o.eigenvalue)}")
        for o in answer.outliers
        if o.order == "1" and o.eigenvalue is not None
    ]
    _law(
        figure,
        answer,
        title="Kernel-matrix spectrum",
        intervals=[(i.lower, i.upper) for i in answer.support],
        outliers=outliers,
    )


def neural_tangent_kernel(figure: Figure, answer: Any) -> None:
    """NTK density and CDF, with every support interval and the atom."""
    _law(
        figure,
        answer,
        title="Neural-tangent-kernel spectrum",
        intervals=[(i.lower, i.upper) for i in answer.support],
    )


def spiked_covariance(figure: Figure, answer: Any) -> None:
    """Sample eigenvalue and alignments per spike, against the bulk [λ−, λ+] and the BBP threshold √c."""
    ax, ax_align = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    spikes = sorted(answer.spikes, key=lambda s: s.spike)
    ell = [s.spike for s in spikes]
    ax.axhspan(answer.support.lower, answer.support.upper, color="0.85", gid="bulk", label="bulk [λ−, λ+]")
    ax.axvline(
        answer.threshold,
        color="0.3",
        linestyle="--",
        gid="threshold",
        label=f"BBP threshold √c = {_fmt(answer.threshold)}",
    )
    outside = [s for s in spikes if s.separated]
    inside = [s for s in spikes if not s.separated]
    if outside:
        ax.plot(
            [s.spike for s in outside],
            [s.eigenvalue for s in outside],
            "o",
            color="C3",
            gid="outliers",
            label="outlier eigenvalue",
        )
    if inside:
        ax.plot(
            [s.spike for s in inside],
            [s.eigenvalue for s in inside],
            "o",
            mfc="none",
            color="C0",
            gid="absorbed",
            label="absorbed (at λ+)",
        )
    ax.set_ylabel("sample eigenvalue")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title("Spiked covariance (BBP transition)")
    ax_align.plot(ell, [s.alignment for s in spikes], "o-", color="C2", gid="alignment", label="|⟨û, u⟩|²")
    ax_align.plot(
        ell,
        [s.sample_side_alignment for s in spikes],
        "s--",
        color="C4",
        gid="sample-side-alignment",
        label="sample side |⟨v̂, ·⟩|²",
    )
    ax_align.axvline(answer.threshold, color="0.3", linestyle="--")
    ax_align.set_ylim(-0.02, 1.02)
    ax_align.set_ylabel("alignment")
    ax_align.set_xlabel("spike strength ℓ")
    ax_align.legend(loc="lower right", fontsize="small")
    _scale(ax_align, "x", ell)


# --- risk and error curves --------------------------------------------------------------------


def _families(points: Sequence[Any], x_name: str, family_name: str) -> tuple[dict[float, list[Any]], list[float]]:
    families: dict[float, list[Any]] = {}
    for point in points:
        families.setdefault(getattr(point, family_name), []).append(point)
    for members in families.values():
        members.sort(key=lambda p: getattr(p, x_name))
    return families, list(families)


def linear_ridge(figure: Figure, answer: Any) -> None:
    """Test MSE (solid) and train error (dashed) against γ per ratio, or against the ratio per γ.

    Marked: the optimum γ* (stars, or the dashed optimal curve against the ratio), the interpolation
    threshold p = n (c = 1) and interior peaks of the test MSE.
    """
    _ridge_curves(figure, answer, train="train_error", threshold=True, title="Ridge regression: limiting errors")


def kernel_ridge(figure: Figure, answer: Any) -> None:
    """Kernel ridge test MSE (solid) and train MSE (dashed), as :func:`linear_ridge` draws them (no threshold at
    c = 1: the kernel's nonlinear part is an implicit ridge)."""
    _ridge_curves(figure, answer, train="train_mse", threshold=False, title="Kernel ridge regression: limiting errors")


def _ridge_curves(figure: Figure, answer: Any, *, train: str, threshold: bool, title: str) -> None:
    """Test MSE and the ``train`` field of ``answer.points`` against γ per ratio (or the ratio per γ), the optimum."""
    ax = figure.subplots()
    ratios = sorted({p.ratio for p in answer.points})
    penalties = sorted({p.ridge_penalty for p in answer.points})
    along_penalty = len(penalties) >= len(ratios) and len(penalties) > 1
    x_name, family_name = ("ridge_penalty", "ratio") if along_penalty else ("ratio", "ridge_penalty")
    families, keys = _families(answer.points, x_name, family_name)
    shown, thinned = _thin(keys)
    for i, key in enumerate(shown):
        members = families[key]
        x = [getattr(p, x_name) for p in members]
        color = f"C{i % 10}"
        label = f"c = {_fmt(key)}" if along_penalty else f"γ = {_fmt(key)}"
        ax.plot(
            x,
            _nan([p.test_mse for p in members]),
            "-",
            marker=".",
            color=color,
            gid=f"test-mse-{i}",
            label=f"test MSE, {label}",
        )
        train_gid = train.replace("_", "-")
        ax.plot(x, _nan([getattr(p, train) for p in members]), "--", color=color, alpha=0.7, gid=f"{train_gid}-{i}")
        _peak(
            ax, x, _nan([p.test_mse for p in members]), gid=f"peak-{i}", color=color, label="peak" if i == 0 else None
        )
    optimal = [o for o in answer.optimal if o.ridge_penalty is not None and o.test_mse is not None]
    if along_penalty:
        best = [o for o in optimal if o.ratio in shown]
        if best:
            ax.plot(
                [o.ridge_penalty for o in best],
                [o.test_mse for o in best],
                "*",
                markersize=13,
                color="k",
                linestyle="none",
                gid="optimum",
                label="optimum γ*",
            )
        ax.set_xlabel("ridge penalty γ")
    else:
        if optimal:
            ax.plot(
                [o.ratio for o in optimal],
                [o.test_mse for o in optimal],
                ":",
                color="k",
                marker="*",
                gid="optimum",
                label="optimal γ*",
            )
        if threshold and ratios[0] <= 1.0 <= ratios[-1]:
            ax.axvline(
                1.0, color="0.3", linestyle="--", gid="interpolation-threshold", label="interpolation threshold p = n"
            )
        ax.set_xlabel("ratio c = p/n")
    _scale(ax, "x", penalties if along_penalty else ratios)
    _scale(ax, "y", [p.test_mse for p in answer.points if p.test_mse is not None and p.test_mse > 0])
    ax.set_ylabel("test MSE (solid), train error (dashed)")
    ax.set_title(title + thinned)
    ax.legend(fontsize="small")


def _n_samples(points: Sequence[Any]) -> int | None:
    """n, from κ = γ(n/N)(1 + δ) (the definition of `effective_ridge`) at any point where all are finite."""
    for p in points:
        if p.effective_ridge and p.delta is not None and p.ridge_penalty > 0:
            n = p.effective_ridge * p.n_neurons / (p.ridge_penalty * (1.0 + p.delta))
            if math.isfinite(n) and n >= 1:
                return round(n)
    return None


def random_features_ridge(figure: Figure, answer: Any) -> None:
    """Test MSE (solid) and train MSE (dashed) against N per γ (the double-descent curve), or against γ.

    Marked: the interpolation threshold N = n, interior peaks, γ*(N) (dotted) and the best (N, γ*).
    """
    ax = figure.subplots()
    neurons = sorted({p.n_neurons for p in answer.points})
    penalties = sorted({p.ridge_penalty for p in answer.points})
    along_neurons = len(neurons) > 1
    x_name, family_name = ("n_neurons", "ridge_penalty") if along_neurons else ("ridge_penalty", "n_neurons")
    families, keys = _families(answer.points, x_name, family_name)
    shown, thinned = _thin(keys)
    for i, key in enumerate(shown):
        members = families[key]
        x = [getattr(p, x_name) for p in members]
        color = f"C{i % 10}"
        label = f"γ = {_fmt(key)}" if along_neurons else f"N = {key}"
        test = _nan([p.test_mse for p in members])
        ax.plot(x, test, "-", marker=".", color=color, gid=f"test-mse-{i}", label=f"test MSE, {label}")
        ax.plot(x, _nan([p.train_mse for p in members]), "--", color=color, alpha=0.7, gid=f"train-mse-{i}")
        _peak(ax, x, test, gid=f"peak-{i}", color=color, label="peak" if i == 0 else None)
    per_n = [o for o in answer.optimal.per_n_neurons if o.ridge_penalty is not None and o.test_mse is not None]
    best = answer.optimal.best
    if along_neurons:
        n = _n_samples(answer.points)
        if n is not None and neurons[0] <= n <= neurons[-1]:
            ax.axvline(
                n,
                color="0.3",
                linestyle="--",
                gid="interpolation-threshold",
                label=f"interpolation threshold N = n = {n}",
            )
        if per_n:
            ax.plot(
                [o.n_neurons for o in per_n],
                [o.test_mse for o in per_n],
                ":",
                color="k",
                gid="optimum-curve",
                label="γ*(N)",
            )
        if best.test_mse is not None:
            ax.plot(
                [best.n_neurons],
                [best.test_mse],
                "*",
                markersize=13,
                color="k",
                gid="optimum",
                label=f"best: N = {best.n_neurons}, γ* = {_fmt(best.ridge_penalty or math.nan)}",
            )
        ax.set_xlabel("neurons N")
    else:
        if best.ridge_penalty is not None and best.test_mse is not None:
            ax.plot(
                [best.ridge_penalty],
                [best.test_mse],
                "*",
                markersize=13,
                color="k",
                gid="optimum",
                label=f"optimum γ* = {_fmt(best.ridge_penalty)}",
            )
        ax.set_xlabel("ridge penalty γ")
    _scale(ax, "x", [float(v) for v in (neurons if along_neurons else penalties)])
    if along_neurons and neurons[-1] / neurons[0] >= 4:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter("{x:g}")
        ax.xaxis.set_minor_formatter("")
        if len(neurons) <= MAX_CURVES:  # N itself as ticks, not powers of ten
            ax.set_xticks(neurons, [str(n) for n in neurons])
    _scale(ax, "y", [p.test_mse for p in answer.points if p.test_mse is not None and p.test_mse > 0])
    ax.set_ylabel("test MSE (solid), train MSE (dashed)")
    ax.set_title("Random-features ridge regression" + thinned)
    ax.legend(fontsize="small")


def _dynamics(figure: Figure, answer: Any, quantities: Sequence[tuple[str, str]], test: str, title: str) -> None:
    ax = figure.subplots()
    points = sorted(answer.points, key=lambda p: p.time)
    t = [p.time for p in points]
    for i, (name, label) in enumerate(quantities):
        style = "-" if name == test else "--"
        ax.plot(
            t,
            _nan([getattr(p, name) for p in points]),
            style,
            marker=".",
            color=f"C{i}",
            gid=name.replace("_", "-"),
            label=label,
        )
    limit = getattr(answer.limit, test)
    if limit is not None:
        ax.axhline(limit, color="0.3", linestyle=":", gid="limit", label=f"t → ∞ limit {_fmt(limit)}")
    optimum = answer.optimal_time
    if optimum.never_stop:
        ax.plot([], [], " ", gid="optimum", label="optimum: never stop (the limit is best)")
    elif optimum.time is not None:
        value = getattr(optimum, test)
        ax.plot(
            [optimum.time],
            [value],
            "*",
            markersize=13,
            color="k",
            gid="optimum",
            label=f"optimum t* = {_fmt(optimum.time)}",
        )
    _scale(ax, "x", t)
    ax.set_xlabel("training time t" + (" (steps)" if all(float(v).is_integer() for v in t) else ""))
    ax.set_ylabel("error")
    ax.set_title(title)
    ax.legend(fontsize="small")


def gradient_descent_classification(figure: Figure, answer: Any) -> None:
    """Train and test error rates over training time, the t → ∞ limit and the best stopping time."""
    _dynamics(
        figure,
        answer,
        [("test_error", "test error"), ("train_error", "train error")],
        "test_error",
        "Gradient descent: classification error",
    )


def gradient_descent_regression(figure: Figure, answer: Any) -> None:
    """Test MSE, its parts and the train error over training time, the limit and the best stopping time."""
    quantities = [
        ("test_mse", "test MSE"),
        ("risk", "risk"),
        ("bias", "bias"),
        ("variance", "variance"),
        ("initialization", "initialization"),
        ("train_error", "train error"),
    ]
    _dynamics(figure, answer, quantities, "test_mse", "Gradient descent: regression errors")


def one_step_gradient(figure: Figure, answer: Any) -> None:
    """Top singular value of W₁ against the step size η, with the bulk edge and the threshold η_c."""
    ax = figure.subplots()
    points = sorted(answer.points, key=lambda p: p.learning_rate)
    eta = [p.learning_rate for p in points]
    ax.plot(
        eta,
        [p.top_singular_value for p in points],
        "-",
        color="C0",
        gid="top-singular-value",
        label="top singular value s₁(W₁)",
    )
    separated = [p for p in points if p.separated]
    if separated:
        ax.plot(
            [p.learning_rate for p in separated],
            [p.top_singular_value for p in separated],
            "o",
            color="C3",
            linestyle="none",
            gid="outliers",
            label="outlier (η > η_c)",
        )
    ax.axhline(
        answer.bulk_edge,
        color="0.4",
        linestyle=":",
        gid="bulk-edge",
        label=f"bulk edge 1 + √c = {_fmt(answer.bulk_edge)}",
    )
    if answer.threshold is not None:
        ax.axvline(
            answer.threshold,
            color="0.3",
            linestyle="--",
            gid="threshold",
            label=f"threshold η_c = {_fmt(answer.threshold)}",
        )
    ax.set_xlabel("step size η")
    ax.set_ylabel("top singular value")
    ax.set_title("One gradient step: spike of the first-layer weights")
    ax.legend(fontsize="small")


# --- simulation jobs --------------------------------------------------------------------------

_PARAMETER = re.compile(r"^(?P<base>[^\[]+)\[(?P<key>.+)=(?P<value>[^=\]]+)\]$")
_INDEXED = re.compile(r"^(?P<base>.+)_(?P<value>\d+)$")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _panels(quantities: Sequence[Any]) -> dict[str, tuple[str, list[tuple[float, Any]]]]:
    """Quantities grouped into panels: `q[key=v]` by q against v, `q_k` by q against k, others alone."""
    panels: dict[str, tuple[str, list[tuple[float, Any]]]] = {}
    for quantity in quantities:
        match = _PARAMETER.match(quantity.name)
        value = _number(match["value"]) if match else None
        if match and value is not None:
            base, axis = match["base"], re.sub(r"\[\d+\]$", "", match["key"])
        elif (indexed := _INDEXED.match(quantity.name)) and "[" not in quantity.name:
            base, axis, value = indexed["base"], "k", float(indexed["value"])
        else:
            base, axis, value = quantity.name, "", 0.0
        panels.setdefault(base, (axis, []))[1].append((value, quantity))
    return panels


def simulation_job(figure: Figure, job: Any) -> None:
    """Every simulated quantity: the Monte Carlo mean ± 2 standard errors over the prediction.

    One panel per quantity family (e.g. `test_mse` against the ridge penalty, the moments against k).
    The job result holds the means and standard errors of each quantity and, for spectra, the KS
    distance of the pooled spectrum (shown in the title); the pooled eigenvalues are not kept.
    """
    result = job.result
    panels = list(_panels(result.quantities).items())
    dropped = len(panels) - MAX_PANELS
    panels = panels[:MAX_PANELS]
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    width, height = 3.4 * columns + 0.6, 2.7 * rows + 0.9
    figure.set_size_inches(width, height)
    figure.subplots_adjust(
        left=0.6 / width, right=1 - 0.15 / width, bottom=0.5 / height, top=1 - 0.75 / height, hspace=0.55, wspace=0.3
    )
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for i, (ax, (base, (axis, members))) in enumerate(zip(axes, panels, strict=False)):
        members.sort(key=lambda item: item[0])
        x = [v for v, _ in members]
        mean = _nan([q.empirical_mean for _, q in members])
        error = [2.0 * q.standard_error if q.standard_error is not None else 0.0 for _, q in members]
        theory = _nan([q.prediction for _, q in members])
        curve = len(members) > 1
        ax.plot(
            x,
            theory,
            "-" if curve else "",
            color="C1",
            marker="x" if curve else "_",
            markersize=9,
            gid=f"theory-{i}",
            label="theory",
        )
        ax.errorbar(
            x,
            mean,
            yerr=error,
            fmt="o",
            color="C0",
            capsize=3,
            markersize=4,
            gid=f"empirical-{i}",
            label="simulation ± 2 SE",
        )
        ax.set_title(base, fontsize="medium")
        if axis:
            ax.set_xlabel(axis)
            _scale(ax, "x", x)
        else:
            ax.set_xticks([])
        if i == 0:
            ax.legend(fontsize="x-small")
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    provenance = result.provenance
    sizes = ", ".join(f"{k} = {v}" for k, v in provenance.sizes.items())
    title = f"Simulation {job.kind}: {provenance.trials} trials ({sizes})"
    if result.spectrum is not None:
        title += f"\nKS distance of the pooled spectrum to the law: {_fmt(result.spectrum.ks_distance)}"
    if dropped > 0:
        title += f"\n{dropped} more quantities in the CSV"
    figure.suptitle(title, fontsize="medium")
