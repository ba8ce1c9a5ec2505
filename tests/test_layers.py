"""The import rules of the three layers: schemas <- service -> solvers.

`schemas` and `solvers` never import each other, nor the web framework; `solvers` stays free of
pydantic too. Checked on the syntax tree of every module, so a lazy import inside a function counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "schemas": {"solvers", "service", "fastapi", "starlette", "numpy", "scipy"},
    "solvers": {"schemas", "service", "fastapi", "starlette", "pydantic", "pydantic_core", "pydantic_settings"},
}


def imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer: str) -> None:
    modules = sorted((ROOT / layer).rglob("*.py"))
    assert modules, f"no modules found under {layer}/"
    violations = {
        str(path.relative_to(ROOT)): sorted(imported_top_level_modules(path) & FORBIDDEN[layer]) for path in modules
    }
    assert not {k: v for k, v in violations.items() if v}


def test_the_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from fastapi import FastAPI\n")
    assert "fastapi" in imported_top_level_modules(bad)
