"""The member reader's fast paths read exactly what the cell-by-cell reading does.

A column whose every cell a parser would give back as it is (parsers.AS_IS, AS_ONE) is taken without a
call per cell, and rows without a short row or a name that may be an example's skip the per-row pass: the
members, the order of their values and every problem must be the same as without those shortcuts."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkdir import readers
from bulkdir.parsers import (
    AS_IS,
    AS_IS_COLUMN,
    AS_ONE,
    CLEAR_MARKERS,
    CellProblem,
    parse_mobile,
    parse_telephone,
    parse_userid,
)
from bulkdir.readers import MemberReader
from bulkdir.validation import validate_file

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(parse, text):
    try:
        return parse(text)
    except CellProblem as error:
        return error.slug


NEAR = st.sampled_from(["1.0", "123.0", "12.3.0", "u.0", "zhangsan", " zhangsan", "zhangsan ", "13912345678",
                        "1391234567８", "+86 139", "x@y.cn", "(x@y.cn", "<x@y.cn", "x@y.c", "ab@cd.ef", "张三",
                        "张三 ", "（清空）", "(清空)", "<clear>", "a" * 64, "a" * 65, "a" * 129, "020-1234,5",
                        "a\u200b", "\u3000x", "x\u00a0", "a\nb", "\u0085a"])


@pytest.mark.parametrize("parse", list(AS_IS) + list(AS_ONE), ids=lambda p: getattr(p, "__qualname__", repr(p)))
@SETTINGS
@given(data=st.data())
def test_a_text_the_pattern_takes_is_one_its_parser_gives_back_as_it_is(parse, data):
    pattern = AS_IS.get(parse) or AS_ONE[parse]
    text = data.draw(st.one_of(st.from_regex(pattern, fullmatch=True), st.text(max_size=70), NEAR))
    if pattern.fullmatch(text):
        assert text and text == text.strip() and text not in CLEAR_MARKERS
        assert _outcome(parse, text) == ([text] if parse in AS_ONE else text)


@pytest.mark.parametrize("parse", list(AS_IS_COLUMN), ids=lambda p: getattr(p, "__qualname__", repr(p)))
@SETTINGS
@given(data=st.data())
def test_a_column_its_whole_column_check_takes_is_what_its_parser_gives_back_cell_by_cell(parse, data):
    pattern = AS_IS.get(parse) or AS_ONE[parse]
    cell = st.one_of(st.from_regex(pattern, fullmatch=True), st.text(max_size=70), NEAR)
    # columns mostly of cells the pattern takes, so that the check says yes as well as no
    cells = data.draw(st.lists(st.one_of(st.from_regex(pattern, fullmatch=True), cell), min_size=1, max_size=6)
                      .map(lambda texts: [text for text in texts if text]))
    if AS_IS_COLUMN[parse](cells):
        assert all(text == text.strip() and text not in CLEAR_MARKERS for text in cells)
        assert [_outcome(parse, text) for text in cells] == [[text] if parse in AS_ONE else text for text in cells]


@pytest.mark.parametrize(("parse", "column"), [
    (parse_userid, ["u000001", "zhang.san@corp", "A-1_b"]), (parse_mobile, ["13912345678", "19900000000"]),
    (parse_telephone, ["0755-12345678", "+86-20-1234,5"])])
def test_the_whole_column_checks_take_the_common_columns_and_refuse_one_odd_cell(parse, column):
    assert AS_IS_COLUMN[parse](column)
    # (a whole-column check is only ever given cells that are not blank)
    for odd in ("123.0", " x", "x\ny", "１３９１２３４５６７８", "1391234567", "a" * 65, "_u1", "1 2"):
        assert not AS_IS_COLUMN[parse](column + [odd]) or _outcome(parse, odd) == odd


def test_the_patterns_take_the_common_cells():
    common = {"u000001", "13912345678", "0755-12345678", "zhangsan@example.com", "张三", "广州市天河路1号"}
    taken = {text for text in common if any(p.fullmatch(text) for p in AS_IS.values())}
    assert taken == common


HEADERS = ["姓名", "帐号", "别名", "职务", "部门", "性别", "手机", "座机", "个人邮箱", "地址", "直属上级", "启用",
           "排序"]
CELLS = st.one_of(
    st.sampled_from(["", " ", "u000001", "U000001", "lisi", "13912345678", "+86 139 1234 5678", "1.39123E+10",
                     "（清空）", "<clear>", "张三（示例）", "张三(示例) ", "示例企业/研发中心/广州;销售部", "1;2", "男",
                     "女", "x", "是", "否", "x@y.cn", "(x@y.cn", "020-1234", "020 1234", "a" * 70, "123.0",
                     "lisi;wangwu", "lisi,u000001", "0", "5;0"]),
    NEAR, st.text(max_size=12))
ROWS = st.lists(st.lists(CELLS, min_size=10, max_size=14), max_size=8)


def _read(rows, numbers, known):
    reader = MemberReader(HEADERS, 1, known_userids=known)
    members = reader.read_all([list(r) for r in rows], numbers)
    return ([(m.row, list(m.values.items()), m.departments, m.main_department, sorted(m.clear)) for m in members],
            [(p.row, p.field, p.type, p.column, p.value, p.message.en) for p in reader.problems])


@SETTINGS
@given(rows=ROWS, known=st.sampled_from([None, {"lisi"}]))
def test_member_rows_read_the_same_with_and_without_the_fast_paths(rows, known):
    numbers = list(range(2, 2 + len(rows)))
    fast = _read(rows, numbers, known)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "AS_IS", {})
        patch.setattr(readers, "AS_ONE", {})
        patch.setattr(readers, "AS_IS_COLUMN", {})
        patch.setattr(readers, "_MAYBE_EXAMPLE", re.compile(""))  # every row through the per-row pass
        slow = _read(rows, numbers, known)
    assert fast == slow


def test_a_generated_sheet_validates_the_same_with_and_without_the_fast_paths(tmp_path: Path):
    path = tmp_path / "members.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(300):
            writer.writerow([f"成员{i}", f"u{i:06d}", "", "工程师", "示例企业/研发中心/广州", "男女"[i % 2],
                             str(13000000000 + i), f"020-{1000 + i}", f"u{i:06d}@example.com", "广州市天河路1号",
                             f"u{i // 2:06d}" if i else "", "是", str(i)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "AS_IS", {})
        patch.setattr(readers, "AS_ONE", {})
        patch.setattr(readers, "AS_IS_COLUMN", {})
        patch.setattr(readers, "_MAYBE_EXAMPLE", re.compile(""))
        slow = validate_file(path)
    fast = validate_file(path)
    assert [(m.row, list(m.values.items()), m.departments) for m in fast.members] \
        == [(m.row, list(m.values.items()), m.departments) for m in slow.members]
    assert [(p.row, p.type, p.message.en) for p in fast.problems] == [(p.row, p.type, p.message.en)
                                                                     for p in slow.problems]
    assert len(fast.members) == 300 and fast.members[1].values["direct_leader"] == ["u000000"]
