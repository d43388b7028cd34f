"""Dependencies run one way: core ← schemas ← extractors ← pipeline ← flows ← cli, and
inside pipeline each stage imports only the stages before it (imports inside functions
count too; imports only for type checking do not)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGES = ("core", "schemas", "extractors", "pipeline", "flows", "cli")
# A package may import itself and the packages before it.
ORDER = {name: PACKAGES[: i + 1] for i, name in enumerate(PACKAGES)}
# Inside pipeline/: each stage may import itself and the stages before it.
STAGES = ("discover", "derive", "validate", "state", "load", "report", "refresh")


def _runtime_imports(path: Path) -> set[str]:
    """Modules imported by a file, leaving out ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_only_downward(package):
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _files(package)
        for module in _runtime_imports(path)
        if module.split(".")[0] in PACKAGES and module.split(".")[0] not in ORDER[package]
    ]
    assert wrong == []


def test_foundations_import_nothing_else_of_the_project():
    for path in _files("core"):
        assert {m.split(".")[0] for m in _runtime_imports(path)} & set(PACKAGES) <= {"core"}, path


def test_pipeline_stages_import_only_earlier_stages():
    wrong = []
    for i, stage in enumerate(STAGES):
        allowed = set(STAGES[: i + 1])
        for path in _files(f"pipeline/{stage}"):
            for module in _runtime_imports(path):
                parts = module.split(".")
                if (
                    parts[0] == "pipeline"
                    and len(parts) > 1
                    and parts[1] in STAGES
                    and parts[1] not in allowed
                ):
                    wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert wrong == []


def test_every_pipeline_module_belongs_to_a_stage():
    loose = [p.name for p in (ROOT / "pipeline").glob("*.py") if p.name != "__init__.py"]
    stages = {p.name for p in (ROOT / "pipeline").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert loose == [] and stages == set(STAGES)


def test_every_file_the_readme_names_exists():
    """A path the README gives (a test, a script, a module) is a file of the repository;
    the example of a new kind's module (in a code block, marked as such) is the exception."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(
        re.findall(
            r"`((?:tests|bench|scripts|extractors|pipeline|flows|cli|core|schemas)/[\w/.-]+\.(?:py|sh|yaml))`",
            readme,
        )
    )
    assert len(named) > 20
    assert sorted(p for p in named if not (ROOT / p).is_file()) == []
