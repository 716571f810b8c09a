"""Every command says its one-line error in the language of --lang, and `validate --json` answers a file it
cannot read with a document typed by why (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulkdir.cli import cli

NO_CORP = {"BULKDIR_CORP_ID": "", "BULKDIR_SECRET": ""}


@pytest.mark.parametrize("command", [["doctor"], ["export", "x.xlsx"], ["import", "{sheet}", "--yes"],
                                     ["delete", "{sheet}", "--yes"], ["apply", "{sheet}", "--yes"]])
def test_a_missing_setting_is_said_in_chinese_with_lang_zh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          command: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    sheet = tmp_path / "staff.csv"
    sheet.write_text("帐号,姓名,手机\nzhangsan,张三,13912345678\n", encoding="utf-8")
    args = [part.replace("{sheet}", str(sheet)) for part in command]
    english = CliRunner().invoke(cli, args, env=NO_CORP)
    chinese = CliRunner().invoke(cli, args + ["--lang", "zh"], env=NO_CORP)
    assert english.exit_code == chinese.exit_code == 2
    assert english.stderr.startswith("Error: missing corp id (企业ID): pass --corp-id")
    assert chinese.stderr.startswith("错误: 缺少企业ID：请使用 --corp-id")
    assert len(chinese.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("content, slug", [(b"", "empty-file"), (b"\x00\x01binary", "not-a-spreadsheet"),
                                           (b"a,b\n1,2\n", "no-header-row")])
def test_validate_json_answers_an_unreadable_file_with_a_typed_problem(tmp_path: Path, content: bytes,
                                                                       slug: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["validate", str(path), "--json", "--lang", "zh"])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["valid"] is False and document["rows"] == 0
    [problem] = document["problems"]
    assert (problem["type"], problem["severity"], problem["row"]) == (slug, "error", None)
    assert result.stderr.startswith("错误: ")
