"""Tune a random-features network on real data without training it: an Optuna search driven by rmt-service.

The network is x ↦ βᵀ relu(Wx) with a random, frozen W (N × p, i.i.d. N(0, 1)) and a ridge-trained β
(penalty γ, per-sample: min (1/n)‖y − Σᵀβ‖² + γ‖β‖²). The service predicts its test MSE from the
expected kernel alone (Louart, Liao & Couillet 2018; docs/methods/random_features.md §3), so an
Optuna study over (N, γ) needs no training at all. The steps:

1. load scikit-learn's bundled digits (no download) and split n training rows from the rest;
2. standardise with the training statistics and divide by √p (the theorem's scaling);
3. upload the data set once (`POST /v1/datasets`);
4. run an Optuna study over N (log integer) and γ (log float) on the predicted test MSE
   (`{"kind": "dataset", "id"}`: after the first call the service reuses its eigendecomposition);
5. check the winner twice: a simulation job on the same data set (random W, a real ridge read-out)
   and real training here, with numpy;
6. print predicted vs simulated vs trained.

Targets are one-hot (10 outputs), so every MSE is summed over outputs (docs/methods/README.md).

Usage (with `./bin/serve` running)::

    python examples/optuna_random_features.py --url http://127.0.0.1:8000 --trials 100
"""

from __future__ import annotations

import argparse
import time

import httpx
import numpy as np
import optuna
from sklearn.datasets import load_digits


def load_data(n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits split into n_train training rows and the rest, standardised with the training statistics, ÷ √p."""
    digits = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits.target))
    x, labels = digits.data[order].astype(np.float64), digits.target[order]
    y = np.eye(10)[labels]  # one-hot targets
    x_train, x_test, y_train, y_test = x[:n_train], x[n_train:], y[:n_train], y[n_train:]
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    keep = std > 0  # constant pixels (always 0 on the border) carry no information: drop them
    x_train = (x_train[:, keep] - mean[keep]) / std[keep]
    x_test = (x_test[:, keep] - mean[keep]) / std[keep]
    root = np.sqrt(x_train.shape[1])
    return x_train / root, y_train, x_test / root, y_test


def trained_test_mse(
    x, y, x_test, y_test, *, n_neurons: int, ridge_penalty: float, draws: int, seed: int
) -> tuple[float, float]:
    """Mean and standard error over draws of W of the test MSE of real ridge training on relu(Wx)."""
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    errors = []
    for _ in range(draws):
        w = rng.standard_normal((n_neurons, x.shape[1]))
        features, test_features = np.maximum(x @ w.T, 0.0), np.maximum(x_test @ w.T, 0.0)  # n × N, n̂ × N
        # β = (1/n) Σ ((1/n) ΣᵀΣ + γI_n)⁻¹ y, solved in the n × n form.
        gram = features @ features.T / n
        alpha = np.linalg.solve(gram + ridge_penalty * np.eye(n), y)
        prediction = test_features @ (features.T @ alpha) / n
        errors.append(np.sum((y_test - prediction) ** 2) / len(y_test))
    errors_array = np.asarray(errors)
    return float(errors_array.mean()), float(errors_array.std(ddof=1) / np.sqrt(draws)) if draws > 1 else 0.0


def check(response: httpx.Response) -> None:
    """Raise with the service's problem body (RFC 9457: title and detail say what to change) on an error status."""
    if response.is_error:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Base URL of rmt-service.")
    parser.add_argument("--api-key", default=None, help="API key, when the service requires one.")
    parser.add_argument(
        "--n-train", type=int, default=512, help="Training rows (the rest of the 1797 digits are the test set)."
    )
    parser.add_argument("--trials", type=int, default=100, help="Optuna trials.")
    parser.add_argument("--simulation-trials", type=int, default=10, help="Monte Carlo trials of the simulation job.")
    parser.add_argument("--training-draws", type=int, default=10, help="Draws of W for the real training.")
    parser.add_argument(
        "--max-neurons",
        type=int,
        default=2000,
        help="Largest N searched. The winner is verified by a simulation job, and the service caps every dimension of a "
        "simulation job at RMT_MAX_SIMULATION_SIZE (default 2000): a larger N would be predicted but could not be checked.",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x, y, x_test, y_test = load_data(args.n_train, args.seed)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    with httpx.Client(base_url=args.url, headers=headers, timeout=120.0) as http:
        upload = http.post(
            "/v1/datasets",
            json={"x": x.tolist(), "y": y.tolist(), "x_test": x_test.tolist(), "y_test": y_test.tolist()},
        )
        check(upload)
        data = {"kind": "dataset", "id": upload.json()["id"]}
        print(f"uploaded data set {data['id']}: n = {x.shape[0]}, n̂ = {x_test.shape[0]}, p = {x.shape[1]}, 10 outputs")

        def objective(trial: optuna.Trial) -> float:
            n_neurons = trial.suggest_int("n_neurons", 32, args.max_neurons, log=True)
            ridge_penalty = trial.suggest_float("ridge_penalty", 1e-3, 10.0, log=True)
            # optimize: false — one point is all a trial needs; γ*(N) would cost ~85 more evaluations per call.
            body = {
                "activation": {"name": "relu"},
                "data": data,
                "n_neurons": n_neurons,
                "ridge_penalty": ridge_penalty,
                "optimize": False,
            }
            response = http.post("/v1/predictions/random-features-ridge", json=body)
            check(response)
            return response.json()["points"][0]["test_mse"]

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=args.seed))
        objective(
            optuna.trial.FixedTrial({"n_neurons": 512, "ridge_penalty": 0.1})
        )  # the first call pays the eigendecomposition
        started = time.perf_counter()
        study.optimize(objective, n_trials=args.trials)
        search_seconds = time.perf_counter() - started
        best = study.best_params
        print(
            f"{args.trials} trials in {search_seconds:.2f} s after the first call; best N = {best['n_neurons']}, "
            f"γ = {best['ridge_penalty']:.4g}, predicted test MSE {study.best_value:.4f}"
        )

        params = {
            "activation": {"name": "relu"},
            "data": data,
            "n_neurons": best["n_neurons"],
            "ridge_penalty": best["ridge_penalty"],
        }
        job = http.post(
            "/v1/simulations",
            json={
                "kind": "random_features_ridge",
                "params": params,
                "trials": args.simulation_trials,
                "seed": args.seed,
            },
        )
        check(job)
        location = job.headers["location"]
        deadline = time.monotonic() + 600
        # A long poll: each request is answered as soon as the job ends, or after 10 s.
        while (body := http.get(location, params={"wait_seconds": 10}).json())["status"] not in (
            "successful",
            "failed",
            "dismissed",
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"simulation job {location} did not finish in 600 s")
        if body["status"] != "successful":
            raise RuntimeError(f"simulation job {location} ended {body['status']}: {body.get('error')}")
        simulated = next(q for q in body["result"]["quantities"] if q["name"].startswith("test_mse"))

    trained, trained_se = trained_test_mse(
        x,
        y,
        x_test,
        y_test,
        n_neurons=best["n_neurons"],
        ridge_penalty=best["ridge_penalty"],
        draws=args.training_draws,
        seed=args.seed + 1,
    )
    print(
        f"test MSE at the winner: predicted {study.best_value:.4f} | simulated {simulated['empirical_mean']:.4f} "
        f"± {simulated['standard_error'] or 0:.4f} ({args.simulation_trials} draws, service) | trained {trained:.4f} ± {trained_se:.4f} "
        f"({args.training_draws} draws, here)"
    )
    return {
        "predicted": float(study.best_value),
        "simulated": float(simulated["empirical_mean"]),
        "simulated_se": float(simulated["standard_error"] or 0.0),
        "trained": trained,
        "trained_se": trained_se,
        "search_seconds": search_seconds,
        "n_neurons": float(best["n_neurons"]),
        "ridge_penalty": float(best["ridge_penalty"]),
    }


if __name__ == "__main__":
    main()
