"""The architecture rules: the import contracts, small modules, docstrings.

The layering (cli > server > web | admin | jobs > container > services >
models | crm | personalization | config_client > scoring), the pure scoring and
personalization engines and the standalone sandbox are import-linter contracts in
pyproject.toml. These tests run `lint-imports` on the tree, and prove on a copy of
it that a forbidden import breaks the contract that forbids it, so a contract that
checks nothing cannot pass unnoticed.
"""

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
PYPROJECT = ROOT / "pyproject.toml"
# The interpreter running the tests, so the linter is the one installed beside it.
LINT_IMPORTS = [
    sys.executable,
    "-c",
    "from importlinter.cli import lint_imports_command; lint_imports_command()",
    "--no-cache",
    "--no-logo",
]
CONTRACTS: dict[str, str] = {
    contract["id"]: contract["name"]
    for contract in tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"][
        "contracts"
    ]
}


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run `lint-imports` over the `app` package under `tree`, with its pyproject.

    The linter puts its working directory first on sys.path and the editable
    install's finder comes after the path, so `app` resolves to `tree / "app"`.
    """
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "400"}
    return subprocess.run(
        LINT_IMPORTS, cwd=tree, env=env, capture_output=True, text=True, timeout=60
    )


def words(text: str) -> str:
    """`text` with its whitespace collapsed, so line wrapping cannot hide a match."""
    return " ".join(text.split())


def test_import_contracts_are_kept() -> None:
    """Every contract holds on the tree, and none of them was skipped."""
    result = lint_imports(ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in output, output


def copy_tree(destination: Path) -> Path:
    """Copy the package's Python files and the pyproject into `destination`.

    grimp reads only `.py` files, so caches and data files stay behind.
    """

    def not_python(directory: str, names: list[str]) -> set[str]:
        return {
            name
            for name in names
            if name == "__pycache__"
            or (not name.endswith(".py") and not Path(directory, name).is_dir())
        }

    shutil.copytree(APP, destination / "app", ignore=not_python)
    shutil.copy2(PYPROJECT, destination / "pyproject.toml")
    return destination


# (module that gets the import, the import, id of the contract it breaks)
FORBIDDEN_IMPORTS = [
    ("app.scoring._probe", "import flask", "pure-scoring"),
    ("app.scoring._probe", "import sqlite3", "pure-scoring"),
    ("app.scoring._probe", "from http import client", "pure-scoring"),
    ("app.scoring._probe", "from app import web", "layers"),
    # The root module is the app factory: importing it reaches web and jobs.
    ("app.scoring._probe", "import app", "layers"),
    ("app.scoring._probe", "from ..services import scoring", "layers"),
    ("app.personalization._probe", "import requests", "pure-personalization"),
    ("app.models._probe", "from app.personalization import learning", "layers"),
    ("app.web._probe", "from app import jobs", "layers"),
    ("app.services._probe", "from app import container", "layers"),
    # Optional layers bind as soon as the module exists.
    ("app.admin", "from app.web import api", "layers"),
    ("app.crm", "from app.models import Client", "layers"),
    ("app.cli", "from app.web import api", "cli-through-factory"),
    ("app.services._probe", "from app.sandbox import seed", "sandbox-only-from-cli"),
    ("app.sandbox._probe", "from app.scoring import engine", "sandbox-standalone"),
    ("app", "from app.sandbox import seed", "factory"),
]


@pytest.mark.parametrize(("module", "statement", "contract"), FORBIDDEN_IMPORTS)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, statement: str, contract: str
) -> None:
    """The import, added to a copy of the tree, fails the named contract."""
    tree = copy_tree(tmp_path)
    package = tree.joinpath(*module.split("."))
    path = package / "__init__.py" if package.is_dir() else package.with_suffix(".py")
    source = path.read_text() if path.exists() else '"""Probe."""\n'
    path.write_text(f"{source}\n{statement}\n")

    result = lint_imports(tree)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert words(f"{CONTRACTS[contract]} BROKEN") in words(output), output
    # The chain starts at the probe, so it was this copy that was analysed.
    assert f"{module} -> " in output, output


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
