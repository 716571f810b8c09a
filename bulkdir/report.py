"""Result files of an import: every original row with what became of it, and the rows to fix.

    <input>.result-<run>.xlsx   the original rows and columns, plus `result` (created, updated, unchanged,
                                deleted, disabled, failed, invalid, skipped), `errcode` and `message` (with the hint);
                                members deleted or disabled because the sheet does not list them are added below;
                                a sheet without userids gets a 帐号 column: the userid each row was matched to or given
    <input>.errors-<run>.xlsx   only the failed, invalid and skipped rows, in the input's own layout (the same
                                sheets, the same header rows and columns), to fix and import again

Both go through bulkdir.sheets' writers, so every cell is text and nothing is ever run as a formula.
A CSV input gets CSV results; an xlsx (or xls) input gets xlsx.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from bulkdir.errors import ConfigError, Text
from bulkdir.sheets import OutSheet, write_csv, write_xlsx

RESULTS = ("created", "updated", "unchanged", "deleted", "disabled", "failed", "invalid", "skipped")
TO_FIX = ("failed", "invalid", "skipped")
RESULT_HEADERS = ["result", "errcode", "message"]
USERID_HEADER = "帐号"  # the column of userids a result file adds to a sheet without one


@dataclass
class RowResult:
    """What became of one spreadsheet row."""

    result: str  # one of RESULTS
    errcode: int | None = None
    message: str = ""  # a Text where it has both languages
    to_fix: bool = True  # False for a row that is skipped on purpose (a template's example row)


@dataclass
class SheetResults:
    """One input sheet as bulkdir.validation read it (a `Table`: headers, data rows and their spreadsheet
    numbers, the rows above the header) and each data row's result."""

    table: Any
    results: dict[int, RowResult] = field(default_factory=dict)
    # rows that are not on the sheet: (cells by header, result), e.g. a member deleted by --delete-missing
    extra: list[tuple[dict[str, str], RowResult]] = field(default_factory=list)
    # each row's userid, for a sheet whose rows are matched or given userids: a 帐号 column when the sheet
    # has none, else its blank cells filled in, so HR can record the new userids (and the file reads back)
    userids: dict[int, str] = field(default_factory=dict)
    userid_index: int | None = None  # the sheet's own userid column

    @property
    def adds_userid(self) -> bool:
        return bool(self.userids) and self.userid_index is None

    @property
    def name(self) -> str:
        return self.table.sheet

    @property
    def headers(self) -> list[str]:
        return list(self.table.headers)

    @property
    def preamble(self) -> list[list[str]]:
        return [list(r) for r in self.table.preamble]

    def data_rows(self) -> list[tuple[int, list[str]]]:
        """(spreadsheet row, cells) of every data row that has a result."""
        return [(number, list(cells)) for cells, number in zip(self.table.rows, self.table.row_numbers)
                if number in self.results]


def _result_rows(part: SheetResults, lang: str) -> list[list[Any]]:
    width = len(part.headers)
    rows = []
    for number, cells in part.data_rows():
        cells = (cells + [""] * (width - len(cells)))[:width]
        userid = part.userids.get(number, "")
        if part.adds_userid:
            cells.append(userid)
        elif part.userid_index is not None and userid and not cells[part.userid_index].strip():
            cells[part.userid_index] = userid
        rows.append(cells + _outcome_cells(part.results[number], lang))
    rows += [[values.get(h, "") for h in part.headers] + ([values.get(USERID_HEADER, "")] if part.adds_userid else [])
             + _outcome_cells(outcome, lang) for values, outcome in part.extra]
    return rows


def _outcome_cells(outcome: RowResult, lang: str) -> list[str]:
    errcode = "" if outcome.errcode is None else str(outcome.errcode)
    return [outcome.result, errcode, _message_cell(outcome.message, lang)]


def _message_cell(message: str, lang: str) -> str:
    """A result's message as the file shows it: Chinese with `--lang zh`; else the English, followed by the
    Chinese where there is one (the people who fix the rows often read Chinese).

    >>> _message_cell(Text("not done", "未完成"), "en"), _message_cell(Text("not done", "未完成"), "zh")
    ('not done / 未完成', '未完成')
    """
    text = Text(message)
    if lang == "zh" or text.zh == text.en:
        return text.in_lang(lang)
    return f"{text.en} / {text.zh}"


def _write(path: Path, sheets: list[OutSheet]) -> Path:
    """One xlsx holding every sheet; or one CSV per sheet, the first at `path`, the others named after their sheet."""
    if path.suffix.lower() in (".csv", ".tsv"):
        for index, sheet in enumerate(sheets):
            target = path if index == 0 else path.with_name(f"{path.stem}-{sheet.name}{path.suffix}")
            write_csv(target, sheet.headers, sheet.rows)
    else:
        write_xlsx(path, sheets)
    return path


def check_output_path(path: str | Path, *, force: bool = False, protect: Sequence[str | Path] = (),
                      option: str = "the file") -> Path:
    """Refuse, before anything is sent, to write over a file that is there: never over a protected file
    (the input sheet), and over another existing file only with `force` (`--force`).

    >>> check_output_path("results-that-do-not-exist-yet.xlsx", option="--report")
    PosixPath('results-that-do-not-exist-yet.xlsx')
    """
    path = Path(path)
    for kept in protect:
        if Path(kept).exists() and path.exists() and path.resolve() == Path(kept).resolve():
            raise ConfigError(f"{option} {path} would overwrite {Path(kept).name}, the input sheet; bulkdir never "
                              "writes over it. Name another file.",
                              f"{option} {path} 会覆盖输入的表格 {Path(kept).name}，bulkdir 不会覆盖它；"
                              "请换一个文件名。")
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; name a file.", f"{option} {path} 是文件夹，请指定文件名。")
    if path.exists() and not force:
        raise ConfigError(f"{option} {path} already exists; add --force to replace it, or name another file.",
                          f"{option} {path} 已存在；如要覆盖请加 --force，或换一个文件名。")
    return path


def report_paths(source: str | Path, run_id: str, report: str | Path | None = None) -> tuple[Path, Path]:
    """Where the result file and the errors-only file go: `--report` if given, else beside the input.

    >>> report_paths("hr/staff.csv", "20261122-031500-3fa2")
    (PosixPath('hr/staff.result-20261122-031500-3fa2.csv'), PosixPath('hr/staff.errors-20261122-031500-3fa2.csv'))
    """
    source = Path(source)
    if report is not None:
        result = Path(report)
        return result, result.with_name(f"{result.stem}.errors{result.suffix}")
    suffix = ".csv" if source.suffix.lower() in (".csv", ".tsv") else ".xlsx"
    return (source.with_name(f"{source.stem}.result-{run_id}{suffix}"),
            source.with_name(f"{source.stem}.errors-{run_id}{suffix}"))


def write_results(path: str | Path, parts: Sequence[SheetResults], lang: str = "en") -> Path:
    """Write the result file: each sheet's original rows plus result, errcode and message (in `lang`).

    Example:
        >>> from bulkdir.validation import validate_file
        >>> table = validate_file("staff.xlsx").tables["members"]
        >>> write_results("staff.result.xlsx", [SheetResults(table, {2: RowResult("created")})])
        PosixPath('staff.result.xlsx')
    """
    return _write(Path(path), [OutSheet(part.name, part.headers + ([USERID_HEADER] if part.adds_userid else [])
                                        + RESULT_HEADERS, _result_rows(part, lang)) for part in parts])


def write_errors(path: str | Path, parts: Sequence[SheetResults]) -> Path | None:
    """Write the rows to fix (failed, invalid, skipped) in the input's layout; None when there are none.

    The rows above the header (the admin console template's notes) are kept, so the file reads back
    exactly like the input.
    """
    sheets = []
    for part in parts:
        rows = [cells for number, cells in part.data_rows()
                if part.results[number].result in TO_FIX and part.results[number].to_fix]
        if rows:
            # the rows above the header (the template's notes) stay, so the header is where the reader finds it
            lines = part.preamble + [part.headers] + rows
            sheets.append(OutSheet(part.name, lines[0], lines[1:]))
    return _write(Path(path), sheets) if sheets else None
