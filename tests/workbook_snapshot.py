"""What a spreadsheet file holds, as plain data to compare: two xlsx files written at different
times differ in their zip timestamps, never in this."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def snapshot(path: Path) -> Any:
    """For a CSV (or a TOML file) its text; for an xlsx, per sheet: cell values and number formats, header fonts,
    notes, drop-down lists, column formats and widths, merged cells and frozen panes."""
    if path.suffix.lower() in (".csv", ".toml"):
        return path.read_text(encoding="utf-8-sig")
    from openpyxl import load_workbook

    book = load_workbook(path)
    sheets = {}
    for sheet in book.worksheets:
        cells = {}
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is None and cell.comment is None and cell.number_format == "General":
                    continue
                font = cell.font
                cells[cell.coordinate] = (
                    cell.value, cell.data_type, cell.number_format,
                    (bool(font.bold), font.color.rgb if font.color is not None else None),
                    (cell.comment.text, cell.comment.author) if cell.comment else None)
        columns = {letter: (dimension.number_format, dimension.width)
                   for letter, dimension in sorted(sheet.column_dimensions.items())}
        validations = sorted((v.type, v.formula1, str(v.sqref), bool(v.allow_blank), v.error)
                             for v in sheet.data_validations.dataValidation)
        sheets[sheet.title] = {"cells": cells, "columns": columns, "validations": validations,
                               "merged": sorted(str(r) for r in sheet.merged_cells.ranges),
                               "freeze": sheet.freeze_panes}
    return sheets
