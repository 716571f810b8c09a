"""The README's sandbox sessions, run again: every `$ ` command of its `session` section (and of its
`hr-session` section, "Sheets from an HR system"), in order, in a folder holding a copy of samples/, on an
empty sandbox (BULKDIR_HOME is this test's own folder, set by conftest). Each must exit as the `# exit N`
line under it says, and print the lines the README shows.

To print a session with the output it gives today, or to put that output into the README's section
(only the lines under each command change; the prose stays):

    python tests/test_readme_session.py                          # print
    python tests/test_readme_session.py --write                  # update README.md
    python tests/test_readme_session.py --section hr-session --write
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
def section_pattern(name: str = "session") -> re.Pattern[str]:
    return re.compile(rf"<!-- section:{name} -->\n(.*?)<!-- /section:{name} -->", re.S)


SECTION = section_pattern()
COMMAND = re.compile(r"^    \$ (.*)$")
EXIT = re.compile(r"^    # exit (\d+)$")
RUN_ID = re.compile(r"\b\d{8}-\d{6}-[0-9a-f]{4}\b")
HOME_SET = re.compile(r"^export BULKDIR_HOME=(\S+)")


@dataclass
class Step:
    command: str
    output: list[str] = field(default_factory=list)
    exit: int | None = None


def session_steps(text: str | None = None, section: str = "session") -> list[Step]:
    """The commands of a README session section with the output and exit code shown under each."""
    match = section_pattern(section).search(text if text is not None else README.read_text(encoding="utf-8"))
    assert match, f"README.md has no {section} section"
    steps: list[Step] = []
    current: Step | None = None
    for line in match.group(1).splitlines():
        if found := COMMAND.match(line):
            current = Step(found.group(1).split("  # ")[0].strip())
            steps.append(current)
        elif current is not None and (found := EXIT.match(line)):
            current.exit = int(found.group(1))
            current = None
        elif current is not None and line.startswith("    "):
            current.output.append(line[4:])
        elif current is not None and line.strip():
            current = None  # prose ends a command's output
    return steps


def argv(command: str) -> list[str]:
    """The command as a list for subprocess: `bulkdir` and `python` run in this interpreter."""
    words = shlex.split(command)
    if words[0] == "bulkdir":
        return [sys.executable, "-m", "bulkdir", *words[1:]]
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    raise AssertionError(f"the session runs only bulkdir and python commands, not {command!r}")


def normalise(line: str, home: str, shown_home: str) -> str:
    return RUN_ID.sub("<run>", line.replace(home, shown_home)).rstrip()


def run_session(workdir: Path, home: Path, steps: list[Step]) -> list[tuple[Step, int, list[str]]]:
    """Run the steps in `workdir` (a copy of samples/ is put there) with BULKDIR_HOME=`home`;
    returns each step with its exit code and its output lines (stdout and stderr as they came)."""
    shutil.copytree(ROOT / "samples", workdir / "samples", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    environment = {**os.environ, "BULKDIR_HOME": str(home), "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
    results = []
    for step in steps:
        if HOME_SET.match(step.command):
            results.append((step, 0, []))
            continue
        done = subprocess.run(argv(step.command), cwd=workdir, env=environment, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        results.append((step, done.returncode, done.stdout.splitlines()))
    return results


def shown_home(steps: list[Step]) -> str:
    for step in steps:
        if found := HOME_SET.match(step.command):
            return found.group(1)
    return "/tmp/bulkdir-demo"


def test_readme_session_runs_as_shown(tmp_path: Path, bulkdir_home: Path) -> None:
    steps = session_steps()
    commands = [s.command for s in steps]
    assert commands[:2] == ["export BULKDIR_HOME=/tmp/bulkdir-demo", "bulkdir sandbox reset"], commands
    assert any(c.startswith("bulkdir validate samples/staff_with_errors.xlsx") for c in commands)
    assert any(c.startswith("bulkdir import") for c in commands)
    assert any(c.startswith("bulkdir export") for c in commands)
    assert all(s.exit is not None for s in steps[1:]), [s.command for s in steps if s.exit is None]
    workdir = tmp_path / "work"
    workdir.mkdir()
    home = shown_home(steps)
    for step, code, lines in run_session(workdir, bulkdir_home, steps[1:]):
        assert code == step.exit, f"{step.command!r} exited {code}, the README says {step.exit}:\n" + "\n".join(lines)
        printed = {normalise(line, str(bulkdir_home), home) for line in lines}
        for line in step.output:
            if line.strip() in ("", "..."):
                continue  # a blank line or a cut in long output
            assert normalise(line, home, home) in printed, (
                f"{step.command!r} no longer prints {line!r}; it printed:\n" + "\n".join(lines))
    # the edit reached the sandbox: export once more and look
    after = subprocess.run(argv("bulkdir export after.json --sandbox"), cwd=workdir, capture_output=True, text=True,
                           env={**os.environ, "BULKDIR_HOME": str(bulkdir_home)}, timeout=120)
    assert after.returncode == 0, after.stderr
    import json

    members = {m["userid"]: m for m in json.loads((workdir / "after.json").read_text(encoding="utf-8"))["members"]}
    assert len(members) == 40
    assert members["huqian"]["position"] == "首席技术顾问"


def check_session(steps: list[Step], tmp_path: Path, bulkdir_home: Path) -> Path:
    """Run the steps (all but the first, which sets BULKDIR_HOME) and check each against the README."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    home = shown_home(steps)
    for step, code, lines in run_session(workdir, bulkdir_home, steps[1:]):
        assert code == step.exit, f"{step.command!r} exited {code}, the README says {step.exit}:\n" + "\n".join(lines)
        printed = {normalise(line, str(bulkdir_home), home) for line in lines}
        for line in step.output:
            if line.strip() in ("", "..."):
                continue
            assert normalise(line, home, home) in printed, (
                f"{step.command!r} no longer prints {line!r}; it printed:\n" + "\n".join(lines))
    return workdir


def test_readme_hr_session_runs_as_shown(tmp_path: Path, bulkdir_home: Path) -> None:
    steps = session_steps(section="hr-session")
    commands = [s.command for s in steps]
    assert commands[1] == "bulkdir sandbox reset", commands
    assert any("--make-userid pinyin" in c for c in commands) and any(c.startswith("bulkdir delete") for c in commands)
    assert all(s.exit is not None for s in steps[1:]), [s.command for s in steps if s.exit is None]
    workdir = check_session(steps, tmp_path, bulkdir_home)
    after = subprocess.run(argv("bulkdir export after.json --sandbox"), cwd=workdir, capture_output=True, text=True,
                           env={**os.environ, "BULKDIR_HOME": str(bulkdir_home)}, timeout=120)
    assert after.returncode == 0, after.stderr
    import json

    members = {m["userid"]: m for m in json.loads((workdir / "after.json").read_text(encoding="utf-8"))["members"]}
    assert {"chenwei", "chenwei2", "chenwei3", "shanxiaoyan", "lvsiqi", "ouyangnana"} <= set(members)
    assert "wangqiang" not in members and "wangyuhan" not in members
    assert members["huqian"]["position"] == "首席技术顾问"


def test_session_parser_reads_commands_output_and_exit_codes() -> None:
    text = ("<!-- section:session -->\nSome prose.\n\n    $ bulkdir validate x.xlsx  # a comment\n"
            "    Row  Column\n    ...\n    # exit 1\n\nMore prose.\n\n    $ python -c 'print(1)'\n    1\n"
            "    # exit 0\n<!-- /section:session -->\n")
    steps = session_steps(text)
    assert [(s.command, s.output, s.exit) for s in steps] == [
        ("bulkdir validate x.xlsx", ["Row  Column", "..."], 1), ("python -c 'print(1)'", ["1"], 0)]
    assert argv(steps[0].command)[1:] == ["-m", "bulkdir", "validate", "x.xlsx"]


def test_rewrite_puts_fresh_output_under_each_command_in_order() -> None:
    text = ("# Title\n<!-- section:session -->\nProse.\n\n    $ export BULKDIR_HOME=/tmp/x\n    $ bulkdir a\n"
            "    old\n    # exit 1\n    $ bulkdir a\n    # exit 0\n\nEnd.\n<!-- /section:session -->\nAfter.\n")
    new = rewrite_section(text, [(0, ["first", ""]), (2, ["second"])])
    assert [(s.command, s.output, s.exit) for s in session_steps(new)] == [
        ("export BULKDIR_HOME=/tmp/x", [], None), ("bulkdir a", ["first"], 0), ("bulkdir a", ["second"], 2)]
    assert new.startswith("# Title\n") and new.endswith("\nEnd.\n<!-- /section:session -->\nAfter.\n")


def rewrite_section(text: str, outputs: list[tuple[int, list[str]]], section: str = "session") -> str:
    """The README with each session command's output and exit line replaced, in order, by `outputs`
    (exit code and lines of each command but the BULKDIR_HOME one)."""
    match = section_pattern(section).search(text)
    assert match
    lines = match.group(1).splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        found = COMMAND.match(line)
        if not found or HOME_SET.match(found.group(1)):
            continue
        # skip the old output, up to and including its `# exit N` line
        end = index
        while end < len(lines) and not EXIT.match(lines[end]) and not COMMAND.match(lines[end]) \
                and (lines[end].startswith("    ") or not lines[end].strip()):
            end += 1
        if end < len(lines) and EXIT.match(lines[end]):
            index = end + 1
        code, printed = outputs.pop(0)
        out += ["    " + p if p.strip() else "" for p in printed]
        out.append(f"    # exit {code}")
    return text[:match.start(1)] + "\n".join(out) + "\n" + text[match.end(1):]


if __name__ == "__main__":
    arguments = sys.argv[1:]
    name = arguments[arguments.index("--section") + 1] if "--section" in arguments else "session"
    steps = session_steps(section=name)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        work = Path(folder) / "work"
        work.mkdir()
        shown = shown_home(steps)
        results = run_session(work, home, steps)
    outputs = [(code, [line.replace(str(home), shown).rstrip() for line in lines])
               for step, code, lines in results if not HOME_SET.match(step.command)]
    if "--write" in arguments:
        README.write_text(rewrite_section(README.read_text(encoding="utf-8"), outputs, name), encoding="utf-8")
    else:
        for step, (code, lines) in zip([s for s in steps if not HOME_SET.match(s.command)], outputs):
            print(f"    $ {step.command}")
            print("\n".join("    " + line if line else "" for line in lines))
            print(f"    # exit {code}\n")
