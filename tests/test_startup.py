"""What starting bulkdir costs: `import bulkdir` and each command load only what they use (the public names
and the commands are imported on first use), so `bulkdir validate` of a CSV does not pay for the HTTP client,
the importer, the web page or pandas."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import bulkdir
from bulkdir.cli.app import COMMANDS

ROOT = Path(__file__).resolve().parent.parent

# Third-party packages a CSV validate, `--help` or `import bulkdir` must not load, and bulkdir's own rooms.
HEAVY = {"requests", "urllib3", "charset_normalizer", "pandas", "numpy", "starlette", "uvicorn", "jinja2",
         "multipart", "openpyxl", "xlsxwriter", "python_calamine", "tqdm", "filelock", "pypinyin", "sqlite3"}
ROOMS = ("bulkdir.wecom", "bulkdir.importer", "bulkdir.exporting", "bulkdir.executor", "bulkdir.journal",
         "bulkdir.web", "bulkdir.emulator", "bulkdir.sandbox", "bulkdir.cli.imports", "bulkdir.cli.serve")

# Runs `bulkdir ARGS...` as `python -m bulkdir` does, then writes the modules it loaded to the file OUT.
RUNNER = """
import atexit, json, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["bulkdir"] + sys.argv[2:]
runpy.run_module("bulkdir", run_name="__main__", alter_sys=True)
"""


def loaded_by(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    out = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", RUNNER, str(out), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    return done, set(json.loads(out.read_text()))


def unwanted(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(ROOMS))


def test_validating_a_csv_loads_neither_the_client_nor_the_importer_nor_pandas(tmp_path: Path) -> None:
    sheet = tmp_path / "staff.csv"
    sheet.write_text("帐号,姓名,手机,部门\nzhangsan,张三,13912345678,研发中心\nlisi,李四,12345,研发中心\n",
                     encoding="utf-8")
    done, modules = loaded_by(tmp_path, "validate", str(sheet), "--json")
    assert done.returncode == 1, done.stderr
    assert [(p["row"], p["field"]) for p in json.loads(done.stdout)["problems"]] == [(3, "mobile")]
    assert "bulkdir.validation" in modules
    assert unwanted(modules) == []


def test_help_lists_every_command_without_loading_what_they_use(tmp_path: Path) -> None:
    done, modules = loaded_by(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split("Commands:")[1].split()
    assert set(COMMANDS) <= set(listed)
    assert unwanted({m for m in modules if not m.startswith("bulkdir.cli.")}) == []  # the commands' own, for their help


def test_the_command_table_names_each_command_and_its_module() -> None:
    from bulkdir.cli import cli

    for module in set(COMMANDS.values()):
        __import__(f"bulkdir.cli.{module}")
    defined = {name: command.callback.__module__ for name, command in cli.commands.items()}
    assert defined == {name: f"bulkdir.cli.{module}" for name, module in COMMANDS.items()}


def test_import_bulkdir_loads_nothing_heavy_and_every_public_name_resolves() -> None:
    script = ("import bulkdir, json, sys; before = sorted(sys.modules); "
              "[getattr(bulkdir, name) for name in bulkdir.__all__]; from bulkdir import validate_file, Directory; "
              "print(json.dumps([before, sorted(set(bulkdir.__all__) - set(dir(bulkdir)))]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    before, missing_from_dir = json.loads(done.stdout)
    assert unwanted(set(before)) == []
    assert missing_from_dir == []


def test_the_lazy_table_and_the_type_checkers_imports_agree() -> None:
    """bulkdir/__init__.py names each public name twice: in _HOMES for the interpreter, and as an import under
    `if TYPE_CHECKING:` for mypy and editors. They must not drift apart."""
    tree = ast.parse((ROOT / "bulkdir" / "__init__.py").read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    imported = {node.module: sorted(alias.name for alias in node.names) for node in block.body
                if isinstance(node, ast.ImportFrom)}
    assert imported == {module: sorted(names) for module, names in bulkdir._HOMES.items()}
    defined_here = {name for name in bulkdir.__all__ if name not in bulkdir._HOME_OF}
    assert defined_here == {"validate", "read_members", "read_departments", "plan_import", "plan_delete", "apply",
                            "export"}


def test_the_error_catalogue_alone_does_not_load_the_http_client() -> None:
    import bulkdir.wecom as wecom

    script = "import bulkdir.wecom.codes, json, sys; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert not {"requests", "urllib3", "bulkdir.wecom.client"} & set(json.loads(done.stdout))
    import importlib

    assert set(wecom.__all__) == set(wecom._HOME_OF)
    assert all(getattr(wecom, name) is getattr(importlib.import_module(home), name)
               for name, home in wecom._HOME_OF.items())
    assert set(wecom.__all__) <= set(dir(wecom))
