"""What each page shows, taken from the library's results: the problems and the sheet a page at a time, the
plan's operations with each change as `old → new`, the rows of a run's results. No rule is decided here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from bulkdir.errors import Text
from bulkdir.fields import LABELS
from bulkdir.importer import ImportPlan, ImportResult
from bulkdir.plan import Operation
from bulkdir.validation import ValidationResult

PAGE_SIZE = 100
SHEET_PAGE_SIZE = 50


@dataclass
class Page:
    """One page of a longer list."""

    items: list[Any]
    number: int
    pages: int
    total: int

    @classmethod
    def of(cls, items: Sequence[Any], number: int, size: int = PAGE_SIZE) -> "Page":
        pages = max(1, math.ceil(len(items) / size))
        number = min(max(1, number), pages)
        start = (number - 1) * size
        return cls(list(items[start:start + size]), number, pages, len(items))


@dataclass
class SheetRow:
    number: int
    cells: list[str]
    marked: set[int]  # column indexes with a problem
    messages: list[str]


@dataclass
class SheetView:
    """A sheet of the upload, a page of rows at a time, its bad cells marked."""

    name: str
    headers: list[str]
    page: Page


def problem_rows(result: ValidationResult, lang: str) -> list[dict[str, Any]]:
    return [{"row": "" if p.row is None else p.row, "column": p.column or "", "value": p.value or "",
             "message": p.message.in_lang(lang), "warning": p.severity == "warning", "sheet": p.sheet or ""}
            for p in result.problems]


def sheet_views(result: ValidationResult, lang: str, page: int, only_problems: bool) -> list[SheetView]:
    views = []
    for table in result.tables.values():
        mine = [p for p in result.problems if p.sheet == table.sheet and p.row is not None and p.row > table.header_row]
        by_row: dict[int, list[Any]] = {}
        for problem in mine:
            by_row.setdefault(problem.row, []).append(problem)  # type: ignore[arg-type]
        pairs = [(cells, number) for cells, number in zip(table.rows, table.row_numbers)
                 if not only_problems or number in by_row]
        shown = Page.of(pairs, page, SHEET_PAGE_SIZE)
        width = len(table.headers)
        rows = []
        for cells, number in shown.items:
            found = by_row.get(number, [])
            marked = {i for i in (table.column_index(p.column) for p in found) if i is not None}
            rows.append(SheetRow(number, (list(cells) + [""] * width)[:width], marked,
                                 [p.message.in_lang(lang) for p in found]))
        views.append(SheetView(table.sheet, table.headers, Page(rows, shown.number, shown.pages, shown.total)))
    return views


# ---------------------------------------------------------------------------------------------
# the plan

FILTERS = ("all", "create", "update", "delete", "unchanged", "invalid")
_FILTER_KINDS = {"create": ("member_create", "department_create"),
                 "update": ("member_update", "member_leaders", "department_update"),
                 "delete": ("member_delete", "member_disable", "department_delete")}


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class PlanItem:
    kind: str  # an operation kind, "unchanged" or "invalid"
    target: str
    name: str
    rows: list[int]
    changes: list[Change] = field(default_factory=list)
    reason: str = ""

    @property
    def removes(self) -> bool:
        return self.kind in ("member_delete", "member_disable", "department_delete")


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        attrs = value.get("attrs")
        if isinstance(attrs, list):
            from bulkdir.parsers import custom_value_text

            return "; ".join(f"{a.get('name')}={custom_value_text(a)}" for a in attrs if custom_value_text(a))
        return str(value)
    return str(value)


def _changes(op: Operation, lang: str) -> list[Change]:
    """Each field the operation sends, as `old → new`, named as the sheet's headers name it in `lang`."""
    before = (op.before or {}).get("fields") or {}

    def label(name: str) -> str:
        if name == "extattr":
            return "自定义字段" if lang == "zh" else "custom fields"
        return LABELS.get(name, name) if lang == "zh" else name

    return [Change(label(name), _shown(before.get(name)), _shown(value))
            for name, value in op.body.items() if name not in ("userid", "id")]


def plan_items(plan: ImportPlan, lang: str) -> list[PlanItem]:
    members = plan.directory.members
    items: list[PlanItem] = []
    for op in plan.plan.ordered():
        name = str(op.body.get("name") or (members.get(op.target.lower()) or {}).get("name") or "")
        changes = _changes(op, lang) if op.kind in ("member_update", "department_update", "member_leaders") else []
        items.append(PlanItem(op.kind, op.target, name, [row for _, row in op.rows], changes))
    for item in plan.plan.unchanged:
        name = str((members.get(item.target.lower()) or {}).get("name") or "")
        items.append(PlanItem("unchanged", item.target, name, [row for _, row in item.rows]))
    for (_, row), reason in sorted(plan.plan.invalid.items()):
        items.append(PlanItem("invalid", "", "", [row], reason=Text(reason).in_lang(lang)))
    for (_, row), reason in sorted(plan.plan.skipped.items()):
        items.append(PlanItem("invalid", plan.plan.skipped_targets.get(("members", row), ""), "", [row],
                              reason=Text(reason).in_lang(lang)))
    return items


def filtered(items: Iterable[PlanItem], which: str, query: str) -> list[PlanItem]:
    query = query.strip().lower()
    kept = []
    for item in items:
        if which == "unchanged" and item.kind != "unchanged":
            continue
        if which == "invalid" and item.kind != "invalid":
            continue
        if which in _FILTER_KINDS and item.kind not in _FILTER_KINDS[which]:
            continue
        if query and query not in item.target.lower() and query not in item.name.lower():
            continue
        kept.append(item)
    return kept


def plan_counts(plan: ImportPlan) -> dict[str, int]:
    counts = plan.counts()
    return {"members_create": counts.get("member_create", 0), "members_update": counts.get("member_update", 0),
            "members_unchanged": counts.get("member_unchanged", 0), "members_delete": counts.get("member_delete", 0),
            "members_disable": counts.get("member_disable", 0),
            "departments_create": counts.get("department_create", 0),
            "departments_update": counts.get("department_update", 0),
            "departments_unchanged": counts.get("department_unchanged", 0),
            "departments_delete": counts.get("department_delete", 0), "invalid": len(plan.plan.invalid)}


def removals(plan: ImportPlan) -> int:
    """Members the plan deletes or disables: the number a person types to confirm."""
    counts = plan.counts()
    return counts.get("member_delete", 0) + counts.get("member_disable", 0)


# ---------------------------------------------------------------------------------------------
# a run's results

def result_rows(result: ImportResult, lang: str) -> list[dict[str, Any]]:
    frame_rows = []
    for (sheet, row), outcome in sorted(result.rows.items()):
        frame_rows.append({"row": row, "target": result.targets.get((sheet, row), ""), "result": outcome.result,
                           "errcode": "" if outcome.errcode is None else outcome.errcode,
                           "message": Text(outcome.message).in_lang(lang)})
    for cells, outcome in result.extra:
        frame_rows.append({"row": "", "target": " ".join(cells.values()), "result": outcome.result,
                           "errcode": "" if outcome.errcode is None else outcome.errcode,
                           "message": Text(outcome.message).in_lang(lang)})
    return frame_rows
