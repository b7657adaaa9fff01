"""The layering rule, checked over every module's imports.

web, admin, jobs, cli -> services -> models, crm, personalization -> scoring.
"""

import ast
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# package -> app packages it must not import
FORBIDDEN = {
    "scoring": {
        "personalization",
        "crm",
        "models",
        "services",
        "web",
        "admin",
        "jobs",
        "sandbox",
        "cli",
        "db",
        "config",
    },
    "personalization": {
        "crm",
        "models",
        "services",
        "web",
        "admin",
        "jobs",
        "sandbox",
        "cli",
        "db",
    },
    "crm": {"models", "services", "web", "admin", "jobs", "personalization", "cli"},
    "models": {"services", "web", "admin", "jobs", "crm", "personalization", "cli"},
    "services": {"web", "admin", "cli"},
    "sandbox": {
        "models",
        "services",
        "web",
        "admin",
        "jobs",
        "crm",
        "personalization",
        "scoring",
        "db",
    },
}
# Only the standard library (and numpy for personalization) in the pure layers.
PURE_THIRD_PARTY = {"scoring": set(), "personalization": {"numpy"}}
STDLIB = set(sys.stdlib_module_names)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules_of(package: str) -> list[Path]:
    root = APP / package
    return sorted(root.rglob("*.py")) if root.is_dir() else []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_inward(package: str) -> None:
    violations = []
    for path in modules_of(package):
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] == "app" and len(parts) > 1 and parts[1] in FORBIDDEN[package]:
                violations.append(f"{path.relative_to(APP)} imports {name}")
    assert violations == []


@pytest.mark.parametrize("package", sorted(PURE_THIRD_PARTY))
def test_pure_layers_use_only_the_standard_library(package: str) -> None:
    allowed = STDLIB | PURE_THIRD_PARTY[package]
    violations = []
    for path in modules_of(package):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top != "app" and top not in allowed:
                violations.append(f"{path.relative_to(APP)} imports {name}")
    assert violations == []


def test_modules_stay_small() -> None:
    too_long = [
        f"{path.relative_to(APP)}: {count} lines"
        for path in APP.rglob("*.py")
        if (count := len(path.read_text().splitlines())) > 320
    ]
    assert too_long == []


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(path.relative_to(APP))
        for path in APP.rglob("*.py")
        if path.stat().st_size
        and ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert missing == []
