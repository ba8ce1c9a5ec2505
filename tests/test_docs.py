"""The texts a user reads cite what a user has: papers, and the methods and derivations in `docs/`.

* No product file (schemas, service, solvers, benchmarks, README, docs) points at the team-internal
  formula write-ups that live outside this repository (answers used to cite such a file for their formulas).
* Every `docs/methods/<file>.md` or `docs/derivations/<file>.md` cited in those files — solver
  `reference` strings (hence `provenance.reference` in answers), docstrings, schema descriptions,
  notes — exists, and so does every numbered section `§x` cited right after it.
* Every solver module's `*REFERENCE*` constant cites a methods or derivations file.
* One symbol per quantity: c is the ratio and γ the ridge penalty in schemas, README and docs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = [ROOT / "README.md", *(ROOT / d for d in ("schemas", "service", "solvers", "benchmarks", "docs"))]
SUFFIXES = {".py", ".md", ".txt", ".json", ".toml", ".yml", ".yaml", ".html"}
INTERNAL = "shared" + "/spec"  # spelled in two parts so that this file does not match itself

SECTION = r"§\d+(?:\.\d+)*(?:\s*[-–]\s*§?\d+(?:\.\d+)*)?"
CITATION = re.compile(
    rf"docs/(methods|derivations)/([\w-]+\.md)`*((?:\s+|,\s*|\s+and\s+){SECTION}(?:(?:,\s*|\s+and\s+){SECTION})*)?"
)
HEADING = re.compile(r"^#+\s+(\d+(?:\.\d+)*)[.\s]", flags=re.M)


def product_files() -> list[Path]:
    files: list[Path] = []
    for entry in PRODUCT:
        if entry.is_file():
            files.append(entry)
        else:
            files.extend(
                p
                for p in sorted(entry.rglob("*"))
                if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts
            )
    return files


def cited_sections(text: str) -> list[str]:
    """Section numbers of a citation's tail ("§2-§5, §7" -> ["2", "5", "7"])."""
    return re.findall(r"§?(\d+(?:\.\d+)*)", " ".join(re.findall(SECTION, text or "")))


def test_the_product_tree_is_scanned():
    names = {p.name for p in product_files()}
    assert {"README.md", "linear_regression.py", "spectra.md"} <= names


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_citation_outside_the_repository(path: Path):
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = [f"{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if INTERNAL in line]
    assert not lines, "cite the paper and docs/methods/<topic>.md instead:\n" + "\n".join(lines)


def citations() -> list[tuple[str, str, str, str]]:
    found = []
    for path in product_files():
        for match in CITATION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.append((str(path.relative_to(ROOT)), match.group(1), match.group(2), match.group(3) or ""))
    return found


def test_there_are_citations_to_check():
    assert len(citations()) > 100


def test_every_cited_file_and_section_exists():
    problems = []
    headings: dict[Path, set[str]] = {}
    for where, folder, name, tail in citations():
        target = ROOT / "docs" / folder / name
        if not target.is_file():
            problems.append(f"{where}: docs/{folder}/{name} does not exist")
            continue
        if target not in headings:
            headings[target] = set(HEADING.findall(target.read_text(encoding="utf-8")))
        problems.extend(
            f"{where}: docs/{folder}/{name} has no section §{section}"
            for section in cited_sections(tail)
            if section not in headings[target]
        )
    assert not problems, "\n".join(sorted(set(problems)))


def reference_constants() -> list[tuple[str, str, str]]:
    """(module, name, text) of every module-level string constant whose name contains REFERENCE."""
    found = []
    for path in sorted((ROOT / "solvers").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name) and "REFERENCE" in target.id:
                        found.append((str(path.relative_to(ROOT)), target.id, node.value.value))
    return found


def test_solver_references_cite_the_methods():
    constants = reference_constants()
    assert len(constants) >= 10
    missing = [f"{module}: {name}" for module, name, text in constants if not CITATION.search(text)]
    assert not missing, "a reference names the paper and its docs/methods (or docs/derivations) section:\n" + "\n".join(
        missing
    )


def test_one_symbol_per_quantity():
    """γ is the ridge penalty and c the ratio: never "γ = p/n" in the contract or the docs, never "penalty λ"."""
    offenders = []
    for path in product_files():
        if path.suffix == ".py" and "schemas" not in path.parts:
            continue  # solver internals may quote a paper's letters; the contract and the docs may not
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"γ\s*=\s*p\s*/\s*n|penalty λ|λ\s*≥\s*0", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
