"""`/v1/datasets`: uploads as JSON or `.npz` (optionally gzip), content ids, preprocessing with the
training statistics, ownership, persistence, and every malformed upload as a problem naming its field."""

from __future__ import annotations

import gzip
import hashlib
import io
import json

import httpx
import numpy as np
import pytest

from service.app import create_app
from tests.conftest import isolated_settings

pytestmark = pytest.mark.anyio

URL = "/v1/datasets"
PROBLEM = "application/problem+json"
RNG = np.random.default_rng(12)
X = RNG.standard_normal((40, 6)) * 3.0 + 1.0
Y = np.sign(RNG.standard_normal(40))
XT = RNG.standard_normal((10, 6)) * 3.0 + 1.0
YT = np.sign(RNG.standard_normal(10))


def npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def as_json(**extra) -> dict:
    return {"x": X.tolist(), "y": Y.tolist(), "x_test": XT.tolist(), "y_test": YT.tolist(), **extra}


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


def problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    if field is not None:
        assert field in {e["field"] for e in body.get("errors", [])}, body
    return body


async def test_upload_json_and_npz_give_one_data_set():
    app = create_app(isolated_settings())
    async with app.router.lifespan_context(app), client(app) as http:
        first = await http.post(URL, json=as_json())
        assert first.status_code == 201, first.text
        meta = first.json()
        assert first.headers["location"] == f"{URL}/{meta['id']}"
        assert (meta["n_samples"], meta["n_test"], meta["n_features"], meta["n_outputs"]) == (40, 10, 6, 1)
        assert meta["id"] == meta["sha256"][:32] and meta["bytes"] == 8 * (40 * 6 + 40 + 10 * 6 + 10)
        as_npz = await http.post(
            URL, content=npz(x=X, y=Y, x_test=XT, y_test=YT), headers={"content-type": "application/x-npz"}
        )
        zipped = await http.post(
            URL,
            content=gzip.compress(json.dumps(as_json()).encode()),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
        octet = await http.post(
            URL,
            content=gzip.compress(npz(x=X, y=Y, x_test=XT, y_test=YT)),
            headers={"content-type": "application/octet-stream", "content-encoding": "gzip"},
        )
        for response in (as_npz, zipped, octet):
            assert response.status_code == 201 and response.json()["id"] == meta["id"]
        assert (await http.get(f"{URL}/{meta['id']}")).json() == meta
        listing = (await http.get(URL)).json()
        assert listing["total"] == 1 and listing["items"][0]["id"] == meta["id"]
        stored = app.state.datasets.arrays(meta["id"], owner="anonymous")
        np.testing.assert_array_equal(stored.x, X)
        np.testing.assert_array_equal(stored.y_test, YT)
        # The id is the SHA-256 of the canonical arrays, computable by a client.
        digest = hashlib.sha256()
        for name, array in (("x", X), ("y", Y), ("x_test", XT), ("y_test", YT)):
            digest.update(
                f"{name}:{'x'.join(map(str, array.shape))};".encode() + np.ascontiguousarray(array, "<f8").tobytes()
            )
        assert meta["sha256"] == digest.hexdigest()
        assert (await http.delete(f"{URL}/{meta['id']}")).status_code == 204
        problem(await http.get(f"{URL}/{meta['id']}"), 404)
        assert not (app.state.settings and (app.state.datasets.directory / meta["id"]).exists())


async def test_preprocess_uses_training_statistics_and_reports_constant_features():
    x = X.copy()
    x[:, 2] = 7.0  # a constant training feature
    app = create_app(isolated_settings())
    async with app.router.lifespan_context(app), client(app) as http:
        raw = await http.post(
            URL, json={"x": x.tolist(), "y": Y.tolist(), "x_test": XT.tolist(), "y_test": YT.tolist()}
        )
        assert any("far from O(1)" in w for w in raw.json()["warnings"])
        body = {
            "x": x.tolist(),
            "y": Y.tolist(),
            "x_test": XT.tolist(),
            "y_test": YT.tolist(),
            "preprocess": {"standardize": True, "scale": "sqrt_features"},
        }
        response = await http.post(URL, json=body)
        assert response.status_code == 201, response.text
        meta = response.json()
        assert meta["id"] != raw.json()["id"] and meta["preprocess"] == {"standardize": True, "scale": "sqrt_features"}
        assert any("1 constant training feature" in w and "columns 2" in w and "dropped" in w for w in meta["warnings"])
        assert meta["n_features"] == 5
        assert not any("far from O(1)" in w for w in meta["warnings"])
        stored = app.state.datasets.arrays(meta["id"], owner="anonymous")
        keep = [0, 1, 3, 4, 5]
        mean, std = x[:, keep].mean(axis=0), x[:, keep].std(axis=0)
        np.testing.assert_allclose(stored.x, (x[:, keep] - mean) / std / np.sqrt(5), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(stored.x_test, (XT[:, keep] - mean) / std / np.sqrt(5), rtol=1e-12, atol=1e-15)
        # The same options as query parameters for an .npz body give the same data set.
        again = await http.post(
            f"{URL}?standardize=true&scale=sqrt_features",
            content=npz(x=x, y=Y, x_test=XT, y_test=YT),
            headers={"content-type": "application/x-npz"},
        )
        assert again.json()["id"] == meta["id"]


async def test_data_sets_belong_to_their_key_and_are_stored_once():
    alice, bob = "alice-key", "bob-key"
    keys = ",".join(f"{n}:{hashlib.sha256(k.encode()).hexdigest()}" for n, k in (("alice", alice), ("bob", bob)))
    app = create_app(isolated_settings(api_keys=keys))
    async with app.router.lifespan_context(app), client(app) as http:
        auth = lambda k: {"Authorization": f"Bearer {k}"}
        mine = (await http.post(URL, json=as_json(), headers=auth(alice))).json()
        problem(await http.get(f"{URL}/{mine['id']}", headers=auth(bob)), 404)
        problem(await http.delete(f"{URL}/{mine['id']}", headers=auth(bob)), 404)
        assert (await http.get(URL, headers=auth(bob))).json()["total"] == 0
        theirs = (await http.post(URL, json=as_json(), headers=auth(bob))).json()
        assert theirs["id"] == mine["id"]
        assert (await http.delete(f"{URL}/{mine['id']}", headers=auth(alice))).status_code == 204
        assert (await http.get(f"{URL}/{mine['id']}", headers=auth(bob))).status_code == 200  # bob's claim remains
        assert (app.state.datasets.directory / mine["id"] / "x.npy").exists()
        problem(await http.post(URL, json=as_json()), 401)


async def test_data_sets_survive_a_restart():
    settings = isolated_settings()
    app = create_app(settings)
    async with app.router.lifespan_context(app), client(app) as http:
        meta = (await http.post(URL, json=as_json())).json()
    app = create_app(settings)
    async with app.router.lifespan_context(app), client(app) as http:
        assert (await http.get(f"{URL}/{meta['id']}")).json() == meta


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"x": X.tolist(), "y": Y[:-1].tolist()}, "y"),
        ({"x": X.tolist(), "y": Y.tolist(), "x_test": XT[:, :3].tolist(), "y_test": YT.tolist()}, "x_test"),
        ({"x": X.tolist(), "y": Y.tolist(), "x_test": XT.tolist()}, "y_test"),
        ({"x": [[1.0, 2.0], [3.0]], "y": [1.0, 2.0]}, "x"),
        ({"x": X.tolist(), "y": Y.tolist(), "extra": 1}, "extra"),
        ({"x": [[1.0]], "y": [1.0]}, "x"),
        ({"y": Y.tolist()}, "x"),
    ],
)
async def test_malformed_json_uploads_name_the_field(body, field):
    app = create_app(isolated_settings())
    async with app.router.lifespan_context(app), client(app) as http:
        problem(await http.post(URL, json=body), 422, field)


async def test_malformed_npz_and_transport_errors():
    bad_x = X.copy()
    bad_x[3, 4] = np.nan
    app = create_app(isolated_settings(max_dataset_bytes=64 * 1024))
    async with app.router.lifespan_context(app), client(app) as http:
        npz_type = {"content-type": "application/x-npz"}
        problem(await http.post(URL, content=npz(x=bad_x, y=Y), headers=npz_type), 422, "x.3.4")
        problem(await http.post(URL, content=npz(x=X, y=Y, w=Y), headers=npz_type), 422, "w")
        problem(await http.post(URL, content=npz(x=X.astype(str), y=Y), headers=npz_type), 422, "x")
        problem(await http.post(URL, content=b"not an archive", headers=npz_type), 400)
        # A JSON upload is as strict as every JSON body, with the same details (it is parsed by the data-set route).
        json_type = {"content-type": "application/json"}
        repeated = problem(await http.post(URL, content=b'{"x": [[1.0]], "x": [[2.0]]}', headers=json_type), 400)
        assert repeated["detail"] == 'The body is not valid JSON: duplicate key "x" in one object.'
        long_integer = problem(await http.post(URL, content=b'{"x": [[' + b"7" * 5000 + b"]]}", headers=json_type), 400)
        assert long_integer["detail"].startswith(
            "The body is valid JSON, but an integer in it has more than 4300 digits"
        )
        problem(await http.post(URL, content=b"x,y\n1,2", headers={"content-type": "text/csv"}), 415)
        problem(await http.post(URL, content=npz(x=X, y=Y), headers={**npz_type, "content-encoding": "br"}), 415)
        problem(
            await http.post(URL, content=b"\x1f\x8b garbage", headers={**npz_type, "content-encoding": "gzip"}), 400
        )
        # Over the cap as sent, and a small gzip body that inflates past it (a zip bomb).
        problem(await http.post(URL, content=b"0" * (64 * 1024 + 1), headers=npz_type), 413)
        bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))
        assert len(bomb) < 64 * 1024
        problem(await http.post(URL, content=bomb, headers={**npz_type, "content-encoding": "gzip"}), 413)
        # The small cap of every other body still holds.
        assert app.state.settings.max_body_bytes == 1_048_576
        big = {"ratio": 0.5, "x": [1.0] * 300_000}
        problem(await http.post("/v1/spectra/marchenko-pastur", json=big), 413)
