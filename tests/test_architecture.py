"""The layout's rules (ARCHITECTURE.md) that import-linter cannot see."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import tamis

SRC = Path(tamis.__file__).parent


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in sorted(SRC.rglob("*.py"))]


def test_the_layers_and_no_cycles_hold() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    root = Path(__file__).parent.parent  # pyproject.toml holds the contracts
    done = subprocess.run([lint], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:]


def test_one_place_builds_the_decision_document() -> None:
    """Requests, videos and retroactive matches all decide through tamis.engine.decision."""
    builders = [
        f"{path.relative_to(SRC)}:{node.lineno}"
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "DecisionDoc"
    ]
    assert len(builders) == 1 and builders[0].startswith("engine/decision.py:"), builders


def test_no_function_level_imports_outside_the_cli() -> None:
    """Imports at function level hide cycles; only the CLI defers imports (so `tamis --help` stays
    fast), and the offline training scripts (not served)."""
    allowed = {Path("cli.py")}
    found = []
    for path, tree in _modules():
        if path.relative_to(SRC) in allowed or path.relative_to(SRC).parts[:2] == ("textmodel", "training"):
            continue
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tamis"):
                    found.append(f"{path.relative_to(SRC)}:{node.lineno} {node.module}")
                elif isinstance(node, ast.Import) and any(a.name.startswith("tamis") for a in node.names):
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert found == []


def _top_level() -> set[str]:
    return {p.name for p in SRC.iterdir() if (p.is_dir() and (p / "__init__.py").exists())} | {
        p.name for p in SRC.glob("*.py") if p.name not in {"__init__.py", "__main__.py"}
    }


def test_the_documented_layout_is_the_tree() -> None:
    """README's layout and ARCHITECTURE.md name every package and module at the top of src/tamis."""
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text().split("## Layout", 1)[1]
    architecture = (root / "ARCHITECTURE.md").read_text()
    for name in _top_level():
        shown = name if name.endswith(".py") else f"{name}/"
        assert shown in readme, f"README's layout does not show {shown}"
        assert shown.removesuffix(".py") in architecture, f"ARCHITECTURE.md does not mention {shown}"
