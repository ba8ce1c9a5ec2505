"""The container files keep their hardening (issue 11 §2): health checks, a numeric user, no
anonymous volumes, the API published on 127.0.0.1 by default, a build context without .venv/.git.

(.ci/run also lints both files: hadolint, and check-jsonschema against the compose specification.)
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def instructions(name: str) -> list[str]:
    """The arguments of every ``name`` instruction of the Dockerfile (continuation lines joined)."""
    text = DOCKERFILE.replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in text.splitlines() if line.split(None, 1)[:1] == [name]]


def test_the_image_runs_as_a_numeric_user_and_declares_no_volume():
    (user,) = instructions("USER")
    assert re.fullmatch(r"\d+(:\d+)?", user.strip())
    assert instructions("VOLUME") == []  # it would give scheduler and workers an anonymous volume each


def test_the_image_health_check_probes_readiness():
    (check,) = instructions("HEALTHCHECK")
    assert "/readyz" in check


def test_scheduler_and_workers_have_their_own_health_check_and_no_volume():
    services = COMPOSE["services"]
    for name in ("scheduler", "worker"):
        assert "/health" in " ".join(services[name]["healthcheck"]["test"])
        assert "volumes" not in services[name]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["scheduler"]["condition"] == "service_healthy"


def test_the_api_is_published_on_loopback_unless_configured():
    (port,) = COMPOSE["services"]["api"]["ports"]
    assert port == "${RMT_API_PUBLISH:-127.0.0.1:8000}:8000"


def test_the_build_context_leaves_out_the_virtualenv_git_and_caches():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", ".git", "**/__pycache__", ".pytest_cache", ".hypothesis", "*.sqlite3*"):
        assert entry in ignored
