"""The scripts of `bin/`: what `bin/serve` installs, the variables it reads, and that the README documents them.

The scripts run on a copy of the repository's `bin/` with a fake `.venv` whose `python` and `uvicorn`
only record how they were called, so nothing is installed or served.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAKE = '#!/usr/bin/env bash\necho "$(basename "$0") $*" >> "$(dirname "$0")/../calls.log"\n'

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the scripts are bash")


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "bin", tmp_path / "bin")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for name in ("python", "uvicorn"):
        tool = tmp_path / ".venv" / "bin" / name
        tool.parent.mkdir(parents=True, exist_ok=True)
        tool.write_text(FAKE)
        tool.chmod(0o755)
    return tmp_path


def run(sandbox: Path, command: str, **env: str) -> list[str]:
    """Run `command` in the sandbox; return the calls recorded since the previous run."""
    log = sandbox / ".venv" / "calls.log"
    before = log.read_text().splitlines() if log.exists() else []
    environment = {k: v for k, v in os.environ.items() if k not in ("RMT_EXTRAS", "RMT_HOST", "RMT_PORT", "PYTHON")}
    environment.update(env)
    subprocess.run(["bash", "-c", command], cwd=sandbox, env=environment, check=True, capture_output=True, timeout=60)
    return (log.read_text().splitlines() if log.exists() else [])[len(before) :]


def installs(calls: list[str]) -> list[str]:
    return [call.split("install -e ", 1)[1] for call in calls if "install -e " in call]


def test_serve_installs_only_the_runtime_dependencies_and_binds_host_and_port(sandbox: Path):
    calls = run(sandbox, "bin/serve", RMT_HOST="0.0.0.0", RMT_PORT="9123")
    assert installs(calls) == ["."]
    assert "uvicorn service.main:app --host 0.0.0.0 --port 9123 --workers 1" in calls
    assert installs(run(sandbox, "bin/serve")) == []  # installed once
    assert "uvicorn service.main:app --host 127.0.0.1 --port 8000 --workers 1" in run(sandbox, "bin/serve")


def test_a_venv_shared_by_serve_and_test_stays_correct(sandbox: Path):
    test_venv = "source bin/_venv.sh"  # what bin/test and bin/bench do before running
    assert installs(run(sandbox, "bin/serve")) == ["."]
    assert installs(run(sandbox, test_venv)) == [".[test]"]  # serve's install lacks the test extra
    assert installs(run(sandbox, "bin/serve")) == []  # a superset serves as it is
    assert installs(run(sandbox, test_venv)) == []
    with (sandbox / "pyproject.toml").open("a") as f:
        f.write("\n# changed\n")
    assert installs(run(sandbox, "bin/serve")) == ["."]  # a new pyproject.toml reinstalls
    assert installs(run(sandbox, test_venv)) == [".[test]"]
    assert installs(run(sandbox, "bin/serve", RMT_EXTRAS="test")) == []


def test_every_variable_the_scripts_read_is_documented():
    read = set()
    for script in (ROOT / "bin").iterdir():
        read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)[:}-]", script.read_text()))
    internal = {"BASH_SOURCE"}
    readme = (ROOT / "README.md").read_text()
    undocumented = sorted(name for name in read - internal if f"`{name}`" not in readme)
    assert {"PYTHON", "RMT_HOST", "RMT_PORT"} <= read
    assert not undocumented, f"document in the README: {undocumented}"
