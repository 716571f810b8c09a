"""The README's "From Python" session runs as shown, on an empty sandbox, in a folder of its own."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def session() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("<!-- section:python -->"):text.index("<!-- /section:python -->")]
    blocks = re.findall(r"```pycon\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the From Python section holds one session"
    return blocks[0]


def test_the_from_python_session_runs_as_shown(tmp_path: Path, bulkdir_home: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(session(), {}, "README From Python", str(README), 0)
    assert len(test.examples) > 10
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    failures: list[str] = []

    runner.report_failure = lambda out, test, example, got: failures.append(  # type: ignore[method-assign]
        f"{example.source.strip()}\nexpected:\n{example.want}got:\n{got}")
    runner.report_unexpected_exception = lambda out, test, example, info: failures.append(  # type: ignore[method-assign]
        f"{example.source.strip()}\nraised {info[1]!r}")
    runner.run(test)
    assert failures == [], "\n\n".join(failures)
    assert (tmp_path / "directory.xlsx").exists()
