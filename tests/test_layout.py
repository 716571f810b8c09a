"""The house rules the layout promises: only bulkdir/cli/ prints or imports click and tqdm, no module
imports another in a circle, the rooms that must not know each other do not, and the public face is
importable from `bulkdir` itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bulkdir"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def top_level_imports(name: str, path: Path) -> set[str]:
    """The bulkdir modules `name` imports when it is imported (not those imported inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("bulkdir"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parents + ([base] if base else []))
            if not base.startswith("bulkdir"):
                continue
            known = modules()
            for alias in node.names:  # `from bulkdir.cli import doctor` imports the module bulkdir.cli.doctor
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return found


def test_only_the_command_line_prints_or_draws() -> None:
    offenders = []
    for name, path in modules().items():
        if name.startswith("bulkdir.cli") or name == "bulkdir.__main__":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(n.split(".")[0] in ("click", "tqdm") for n in names):
                    offenders.append(f"{name} imports {names}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{name}:{node.lineno} prints")
    assert offenders == []


def test_no_module_imports_another_in_a_circle() -> None:
    graph = {name: top_level_imports(name, path) - {name} for name, path in modules().items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for imported in sorted(graph.get(name, ())):
            if state.get(imported) == 1:
                cycles.append(trail[trail.index(imported):] + [imported] if imported in trail else [name, imported])
            elif imported not in state:
                visit(imported, trail + [imported])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
    assert cycles == []


@pytest.mark.parametrize("module, must_not_import", [
    ("bulkdir.sheets", "bulkdir.exporting"), ("bulkdir.problems", "bulkdir.schema"),
    ("bulkdir.emulator.responses", "bulkdir.emulator.urls")])
def test_rooms_that_must_not_know_each_other(module: str, must_not_import: str) -> None:
    path = modules()[module]
    text = path.read_text(encoding="utf-8")
    assert must_not_import not in top_level_imports(module, path)
    assert f"import {must_not_import}" not in text and f"from {must_not_import} import" not in text


def test_every_module_imports_on_its_own_in_a_fresh_interpreter() -> None:
    names = [name for name in modules() if name != "bulkdir.__main__"]
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    for name in names:  # each alone: an import that only works after another module was loaded fails here
        done = subprocess.run([sys.executable, "-c", script, name], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{name}: {done.stderr.strip().splitlines()[-1:]}"


def test_the_public_face_is_importable_and_documented() -> None:
    done = subprocess.run([sys.executable, "-c", "import bulkdir, sys; print(bulkdir.__all__); "
                           "print('pandas' in sys.modules)"], capture_output=True, text=True, timeout=60)
    listed, pandas_loaded = done.stdout.strip().splitlines()
    assert pandas_loaded == "False"  # imported only when a DataFrame is given or asked for
    import bulkdir

    assert {"connect", "validate", "read_members", "read_departments", "plan_import", "apply", "export",
            "fetch_directory", "write_template", "Member", "Department", "Problem", "Directory",
            "ImportOptions", "DeleteOptions", "BulkdirError", "WeComError"} <= set(bulkdir.__all__)
    for name in bulkdir.__all__:
        assert getattr(bulkdir, name).__doc__, f"bulkdir.{name} has no docstring"
    assert str(bulkdir.__all__) == listed


def test_the_web_page_is_a_layer_like_the_command_line() -> None:
    """bulkdir/web/ is built on the library and nothing in the library knows it (nor its framework); the page
    does not reach into the command line."""
    offenders = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        web = {n for n in imported if n.startswith(("bulkdir.web", "starlette", "uvicorn", "jinja2"))}
        if name.startswith("bulkdir.web"):
            offenders += [f"{name} imports {n}" for n in imported if n.startswith("bulkdir.cli")]
        elif name != "bulkdir.cli.serve" and web:
            offenders.append(f"{name} imports {sorted(web)}")
    assert offenders == []
