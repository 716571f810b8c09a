"""Userids for new hires (bulkdir/userids.py): the platform's rule, names as pinyin with surname readings,
initials, templates, the allocator, and the speed for a sheet of 100,000 rows."""

from __future__ import annotations

import random
import re
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import lazy_pinyin

from bulkdir import userids
from bulkdir.userids import (
    COMPOUND_SURNAMES,
    SURNAMES,
    Allocator,
    UseridError,
    check_template,
    check_userid,
    initials,
    is_userid,
    pinyin_userid,
    render_template,
)

RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


def refused(slug: str, call: Callable[..., object], *args: object) -> UseridError:
    with pytest.raises(UseridError) as caught:
        call(*args)
    assert caught.value.slug == slug, caught.value
    return caught.value


# the platform's rule

@pytest.mark.parametrize("text", ["a", "7", "zhangsan", "Zhang.San@hq-1_x", "x" * 64, "1001"])
def test_userids_that_follow_the_rule(text: str) -> None:
    assert is_userid(text) and check_userid(text) == text


@pytest.mark.parametrize("text, slug", [
    ("", "invalid-userid"), ("_x", "invalid-userid"), (".x", "invalid-userid"), ("@x", "invalid-userid"),
    ("-x", "invalid-userid"), ("zhang san", "invalid-userid"), ("张三", "invalid-userid"), ("a/b", "invalid-userid"),
    ("ｚｈａｎｇ", "invalid-userid"), ("x" * 65, "userid-too-long")])
def test_userids_that_break_the_rule(text: str, slug: str) -> None:
    assert not is_userid(text)
    assert refused(slug, check_userid, text).detail == text


def test_the_error_carries_a_slug_and_a_detail() -> None:
    error = UseridError("name-not-pinyin", "😀")
    assert (error.slug, error.detail, error.args) == ("name-not-pinyin", "😀", ("name-not-pinyin", "😀"))
    assert str(error) == "name-not-pinyin: '😀'" and isinstance(error, Exception)


# names as pinyin

@pytest.mark.parametrize("name, expected", [
    ("张三", "zhangsan"), ("欧阳娜娜", "ouyangnana"), ("李四", "lisi"), ("王小明", "wangxiaoming"),
    ("张三丰", "zhangsanfeng"), ("刘德华", "liudehua"), ("周杰伦", "zhoujielun")])
def test_names_in_pinyin(name: str, expected: str) -> None:
    assert pinyin_userid(name) == expected


@pytest.mark.parametrize("surname, reading", sorted(SURNAMES.items()))
def test_each_surname_of_the_table_is_read_as_a_surname(surname: str, reading: str) -> None:
    assert pinyin_userid(surname + "伟") == reading + "wei"
    assert pinyin_userid(surname + "小明") == reading + "xiaoming"
    assert initials(surname + "小明") == reading[0] + "xm"


@pytest.mark.parametrize("surname, reading", sorted(SURNAMES.items()))
def test_the_table_only_overrides_where_pypinyin_reads_otherwise(surname: str, reading: str) -> None:
    assert "".join(lazy_pinyin(surname)) != reading


# surnames pypinyin already reads as surnames, so they are not in the table; held to it here
PYPINYIN_READS_RIGHT = {
    "那": "na", "柏": "bai", "弘": "hong", "逄": "pang", "过": "guo", "牟": "mou", "宁": "ning", "亓": "qi",
    "眭": "sui", "冼": "xian", "厍": "she", "訾": "zi", "蛮": "man", "宓": "mi", "尉": "wei", "沈": "shen",
    "华": "hua", "任": "ren", "纪": "ji", "燕": "yan", "恽": "yun", "谌": "chen", "褚": "chu", "应": "ying",
    "相": "xiang", "朝": "chao", "宿": "su", "占": "zhan", "舍": "she", "臧": "zang", "隽": "juan", "葛": "ge",
    "贲": "ben", "莘": "shen", "车": "che", "谷": "gu", "曲": "qu", "叶": "ye", "石": "shi", "陆": "lu",
    "啜": "chuai", "迮": "ze", "乘": "cheng", "缑": "gou", "郄": "qie", "仉": "zhang", "闾": "lv", "吕": "lv",
    "査": "zha", "頡": "xie", "甯": "ning", "過": "guo", "紀": "ji", "陸": "lu", "華": "hua", "闞": "kan",
}


@pytest.mark.parametrize("surname, reading", sorted(PYPINYIN_READS_RIGHT.items()))
def test_surnames_pypinyin_already_reads_right(surname: str, reading: str) -> None:
    assert surname not in SURNAMES
    assert pinyin_userid(surname + "伟") == reading + "wei"
    assert pinyin_userid(surname + "小明") == reading + "xiaoming"


@pytest.mark.parametrize("surname, syllables", sorted(COMPOUND_SURNAMES.items()))
def test_each_compound_surname_of_the_table(surname: str, syllables: tuple[str, str]) -> None:
    assert pinyin_userid(surname + "伟") == "".join(syllables) + "wei"
    assert pinyin_userid(surname + "小明") == "".join(syllables) + "xiaoming"
    assert initials(surname + "小明") == syllables[0][0] + syllables[1][0] + "xm"


@pytest.mark.parametrize("name, expected", [
    ("单雄信", "shanxiongxin"), ("曾小贤", "zengxiaoxian"), ("解缙", "xiejin"), ("仇英", "qiuying"),
    ("区家麟", "oujialin"), ("朴智星", "piaozhixing"), ("查良镛", "zhaliangyong"), ("盖聂", "genie"),
    ("覃海洋", "qinhaiyang"), ("尉迟敬德", "yuchijingde"), ("万俟卨", "moqixie"), ("长孙无忌", "zhangsunwuji"),
    ("单于夜", "chanyuye"), ("澹台灭明", "tantaimieming"), ("乐正绫", "yuezhengling"), ("尉健行", "weijianxing"),
    ("單雄信", "shanxiongxin"), ("歐陽娜娜", "ouyangnana"), ("萬俟卨", "moqixie"), ("尉遲恭", "yuchigong")])
def test_famous_surnames(name: str, expected: str) -> None:
    assert pinyin_userid(name) == expected


def test_the_surname_and_the_given_name_are_read_apart() -> None:
    assert pinyin_userid("曾经") == "zengjing"  # not the phrase 曾经 (ceng jing) read across the two
    assert pinyin_userid("呼延长") == "huyanzhang"  # 呼延 + 长, not 呼 + the phrase 延长
    assert pinyin_userid("单单") == "shandan"  # the given name read as usual


def test_a_compound_surname_needs_a_given_name() -> None:
    # two characters are a surname and a given name: 单 + 于, 尉 + 迟
    assert pinyin_userid("单于") == "shanyu" and pinyin_userid("尉迟") == "weichi"
    assert pinyin_userid("单于飞") == "chanyufei" and pinyin_userid("尉迟恭") == "yuchigong"


@pytest.mark.parametrize("name, expected", [
    ("王朝阳", "wangzhaoyang"), ("李长生", "lichangsheng"), ("张重阳", "zhangchongyang"), ("赵行健", "zhaoxingjian")])
def test_the_given_name_is_read_with_the_phrase_dictionary(name: str, expected: str) -> None:
    assert pinyin_userid(name) == expected


def test_no_surname_reading_outside_the_first_character() -> None:
    assert pinyin_userid("张单") == "zhangdan" and pinyin_userid("李曾") == "liceng"


@pytest.mark.parametrize("name, expected", [
    ("吕", "lv"), ("女", "nv"), ("绿", "lv"), ("吕布", "lvbu"), ("许绿", "xulv"), ("闾丘露", "lvqiulu"),
    ("吕略", "lvlve"), ("Lü Bu", "lvbu"), ("LǙ Bu", "lvbu"), ("Lǚ", "lv")])
def test_u_umlaut_is_v(name: str, expected: str) -> None:
    assert pinyin_userid(name) == expected


@pytest.mark.parametrize("name, expected", [
    ("Anna Li", "annali"), ("anna li", "annali"), ("ANNA  LI", "annali"), ("Ａｎｎａ　Ｌｉ", "annali"),
    ("Jean-Luc Picard", "jeanlucpicard"), ("O'Brien", "obrien"), ("José García", "josegarcia"),
    ("Zhāng Sān", "zhangsan"), ("Mary2", "mary2"), ("Müller", "mvller")])
def test_latin_names(name: str, expected: str) -> None:
    assert pinyin_userid(name) == expected


@pytest.mark.parametrize("name, expected", [
    ("李Anna", "lianna"), ("Anna李", "annali"), ("单Anna", "shananna"), ("Ａｎｎａ张", "annazhang"),
    ("张三2", "zhangsan2"), ("王５", "wang5"), ("李雷1990", "lilei1990"), ("2号", "2hao")])
def test_mixed_names_and_digits(name: str, expected: str) -> None:
    assert pinyin_userid(name) == expected


@pytest.mark.parametrize("dot", ["·", "•", "・", "‧", "･", ".", "-", " ", "　", "．", "－",
                                 "\u0387", "\u2219", "\u22c5"])
def test_the_middle_dot_and_its_variants_are_dropped(dot: str) -> None:
    assert pinyin_userid(f"阿依古丽{dot}买买提") == "ayigulimaimaiti"
    assert initials(f"阿依古丽{dot}买买提") == "ayglmmt"


def test_a_name_with_a_middle_dot_has_no_surname_reading() -> None:
    assert pinyin_userid("查尔斯·达尔文") == "chaersidaerwen"  # a transliteration: 查 is not the surname zha
    assert pinyin_userid("查尔斯") == "zhaersi"


def test_invisible_characters_are_dropped() -> None:
    assert pinyin_userid("张\u200b三\ufeff") == "zhangsan" and pinyin_userid("李\ufe0f四") == "lisi"


@pytest.mark.parametrize("name, offending", [
    ("张三😀", "😀"), ("😀", "😀"), ("❤️李", "❤"), ("张★三", "★"), ("张三（实习）", "()"), ("张#三", "#"),
    ("王_五", "_"), ("김철수", "김철수"), ("かな", "かな"), ("Иван", "Иван"), ("ß", "ß"), ("Łukasz", "Ł"),
    ("张三。", "。"), ("兙", "兙"), ("张😀三😀", "😀")])
def test_names_that_cannot_be_pinyin_are_refused(name: str, offending: str) -> None:
    assert refused("name-not-pinyin", pinyin_userid, name).detail == offending
    assert refused("name-not-pinyin", initials, name).detail == offending


@pytest.mark.parametrize("name", ["", " ", "·", "　", "- . ·", "\u200b"])
def test_an_empty_name_is_refused(name: str) -> None:
    assert refused("name-empty", pinyin_userid, name).detail == name
    refused("name-empty", initials, name)


def test_a_name_too_long_for_a_userid_is_refused() -> None:
    assert pinyin_userid("张" * 12) == "zhang" * 12  # 60 letters
    assert pinyin_userid("a" * 64) == "a" * 64
    assert refused("userid-too-long", pinyin_userid, "a" * 65).detail == "a" * 65
    refused("userid-too-long", pinyin_userid, "张" * 13)  # 65 letters
    assert initials("张" * 13) == "z" * 13


# initials

@pytest.mark.parametrize("name, expected", [
    ("张三丰", "zsf"), ("张三", "zs"), ("欧阳娜娜", "oynn"), ("单田芳", "stf"), ("曾国藩", "zgf"), ("尉迟敬德", "ycjd"),
    ("吕布", "lb"), ("Anna Li", "al"), ("李Anna", "la"), ("阿依古丽·买买提", "ayglmmt"), ("李雷2", "ll2"),
    ("王1990", "w1990")])
def test_initials(name: str, expected: str) -> None:
    assert initials(name) == expected


# templates

COLUMNS = {"工号": "E1001", "姓名": "张三", "Dept.Code": "rd", "空": "", "blank": "  ", "中文": "研发"}


@pytest.mark.parametrize("template, expected", [
    ("{pinyin}", "zhangsan"), ("{initials}", "zs"), ("{column:工号}", "E1001"),
    ("{pinyin}.{column:工号}", "zhangsan.E1001"), ("{initials}{column:工号}", "zsE1001"),
    ("{pinyin}@{column:Dept.Code}", "zhangsan@rd"), ("hr-{pinyin}", "hr-zhangsan"), ("{pinyin}_x", "zhangsan_x"),
    ("{pinyin}{initials}", "zhangsanzs"), ("E{column:工号}", "EE1001")])
def test_template_pieces(template: str, expected: str) -> None:
    check_template(template, COLUMNS)
    assert render_template(template, "张三", COLUMNS) == expected


def test_a_header_may_hold_any_character_but_the_closing_brace() -> None:
    columns = {"员工 编号 (HR)": "1001", "a{b": "x", "列:1": "y"}
    for header, value in columns.items():
        check_template(f"{{pinyin}}.{{column:{header}}}", columns)
        assert render_template(f"{{pinyin}}.{{column:{header}}}", "李四", columns) == f"lisi.{value}"


@pytest.mark.parametrize("template, slug, detail", [
    ("{foo}", "unknown-template-piece", "{foo}"), ("{pinyin}.{Pinyin}", "unknown-template-piece", "{Pinyin}"),
    ("{ pinyin }", "unknown-template-piece", "{ pinyin }"), ("{}", "unknown-template-piece", "{}"),
    ("{pinyin", "unknown-template-piece", "{pinyin"), ("pinyin}", "unknown-template-piece", "pinyin}"),
    ("{column:工号}}", "unknown-template-piece", "}"), ("{column:员工编号}", "no-such-column", "员工编号"),
    ("{column:}", "no-such-column", ""), ("{pinyin}#{column:工号}", "invalid-userid", "#"),
    ("{pinyin} {column:工号}", "invalid-userid", " "), ("_{pinyin}", "invalid-userid", "_"),
    ("", "invalid-userid", "")])
def test_check_template_refuses_before_any_row(template: str, slug: str, detail: str) -> None:
    assert refused(slug, check_template, template, list(COLUMNS)).detail == detail
    with pytest.raises(UseridError):
        render_template(template, "张三", COLUMNS)


def test_check_template_takes_any_iterable_of_headers() -> None:
    check_template("{column:工号}", iter(["工号"]))
    check_template("{column:工号}", ("姓名", "工号"))
    refused("no-such-column", check_template, "{column:工号}", [])


@pytest.mark.parametrize("template, name, slug, detail", [
    ("{pinyin}.{column:缺}", "张三", "no-such-column", "缺"),
    ("{pinyin}.{column:空}", "张三", "empty-column-cell", "空"),
    ("{pinyin}.{column:blank}", "张三", "empty-column-cell", "blank"),
    ("{pinyin}.{column:中文}", "张三", "invalid-userid", "zhangsan.研发"),
    ("{pinyin}", "张三😀", "name-not-pinyin", "😀"),
    ("{initials}", "", "name-empty", ""),
    ("{column:工号}.{pinyin}", "x" * 60, "userid-too-long", "E1001." + "x" * 60)])
def test_render_template_refusals(template: str, name: str, slug: str, detail: str) -> None:
    assert refused(slug, render_template, template, name, COLUMNS).detail == detail


def test_a_column_cell_is_used_as_given() -> None:
    assert render_template("{column:工号}", "张三", {"工号": "AbC-01"}) == "AbC-01"
    refused("invalid-userid", render_template, "{column:工号}", "张三", {"工号": " E1001"})


# the allocator

def test_two_new_zhang_wei() -> None:
    allocator = Allocator(taken=set())
    assert [allocator.take(pinyin_userid("张伟")) for _ in range(2)] == ["zhangwei", "zhangwei2"]


def test_two_new_zhang_wei_with_zhangwei2_in_the_corp() -> None:
    allocator = Allocator(taken={"zhangwei2"})
    assert [allocator.take(pinyin_userid("张伟")) for _ in range(2)] == ["zhangwei", "zhangwei3"]


def test_the_first_free_number() -> None:
    allocator = Allocator(taken={"zhangwei", "zhangwei2", "zhangwei4"})
    assert [allocator.take("zhangwei") for _ in range(3)] == ["zhangwei3", "zhangwei5", "zhangwei6"]


def test_collisions_are_case_insensitive() -> None:
    allocator = Allocator(taken=["ZhangWei"])
    assert allocator.take("zhangwei") == "zhangwei2"
    assert allocator.take("ZHANGWEI") == "ZHANGWEI3"  # the base's own case is kept
    assert "zhangWEI3" in allocator and "ZhangWei" in allocator and "zhangwei4" not in allocator


def test_reserve() -> None:
    allocator = Allocator(taken={"lisi"})
    allocator.reserve("ZhangWei")  # another row of the sheet already has it
    allocator.reserve("zhangwei3")
    assert [allocator.take("zhangwei") for _ in range(3)] == ["zhangwei2", "zhangwei4", "zhangwei5"]
    assert allocator.take("lisi") == "lisi2"


def test_reserve_after_take_moves_the_next_number_on() -> None:
    allocator = Allocator()
    assert allocator.take("wangwu") == "wangwu"
    allocator.reserve("wangwu2")
    assert allocator.take("wangwu") == "wangwu3"


def test_bases_that_end_in_digits() -> None:
    allocator = Allocator(taken={"li1"})
    assert allocator.take("li1") == "li12" and allocator.take("li") == "li" and allocator.take("li") == "li2"


def test_the_number_stays_within_64_bytes() -> None:
    base = "a" * 64
    allocator = Allocator(taken={base})
    assert allocator.take(base) == "a" * 63 + "2"
    for _ in range(7):
        allocator.take(base)
    assert allocator.take(base) == "a" * 62 + "10"  # the base shortened, never the number
    assert all(len(userid) <= 64 for userid in allocator._taken)


def test_the_base_must_be_a_userid() -> None:
    refused("invalid-userid", Allocator().take, "")
    refused("invalid-userid", Allocator().take, "张三")
    refused("userid-too-long", Allocator().take, "a" * 65)


def test_many_of_the_same_name_are_numbered_in_order() -> None:
    # (how fast: bench/validate.py; tests do not assert timings)
    allocator = Allocator()
    handed = [allocator.take("zhangwei") for _ in range(20_000)]
    assert handed[-1] == "zhangwei20000" and len(set(handed)) == 20_000


# every name gives a userid that follows the rule, or a UseridError

def _known(code: int) -> bool:
    return lazy_pinyin(chr(code), errors=lambda chars: "\x00")[0] != "\x00"


HANZI = [chr(code) for code in range(0x4E00, 0xA000) if _known(code)]
CJK_NAMES = st.text(alphabet=st.sampled_from(HANZI), min_size=1, max_size=8)
SURNAME_FIRST = st.tuples(st.sampled_from(sorted(SURNAMES) + sorted(COMPOUND_SURNAMES)),
                          st.text(alphabet=st.sampled_from(HANZI), min_size=0, max_size=3)).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(CJK_NAMES, SURNAME_FIRST))
def test_every_cjk_name_gives_a_valid_userid(name: str) -> None:
    userid = pinyin_userid(name)
    assert RULE.fullmatch(userid) and re.fullmatch(r"[a-z]+", userid) and is_userid(userid)
    letters = initials(name)
    assert re.fullmatch(r"[a-z]+", letters) and len(letters) <= len(name) * (2 if name[:2] in COMPOUND_SURNAMES else 1)
    allocator = Allocator(taken={userid})
    assert is_userid(allocator.take(userid))


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=12))
def test_any_text_gives_a_valid_userid_or_a_userid_error(name: str) -> None:
    try:
        userid = pinyin_userid(name)
    except UseridError as error:
        assert error.slug in ("name-not-pinyin", "name-empty", "userid-too-long")
    else:
        assert RULE.fullmatch(userid) and re.fullmatch(r"[a-z0-9]+", userid)


# speed

SURNAMES_FOR_SPEED = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
                      "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱"
                      "江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单解仇区朴查盖翟缪乐")
COMPOUNDS_FOR_SPEED = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "万俟", "长孙", "令狐")
GIVEN_FOR_SPEED = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬鹏辉建国"
                   "志文博宇浩然子轩梓涵一诺欣怡雨桐思远嘉豪俊晨曦佳琪梦瑶天佑紫萱若诗雅婷婉清长乐重阳朝行健")


def realistic_names(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    names = []
    for _ in range(count):
        surname = rng.choice(COMPOUNDS_FOR_SPEED) if rng.random() < 0.03 else rng.choice(SURNAMES_FOR_SPEED)
        names.append(surname + "".join(rng.choice(GIVEN_FOR_SPEED) for _ in range(rng.choice((1, 2, 2, 2)))))
    return names


def test_100000_realistic_names_all_get_distinct_userids() -> None:
    names = realistic_names(100_000)
    assert len(set(names)) > 50_000  # mostly distinct: the cache per name is not what makes it fast
    userids._pieces.cache_clear()
    userids._read.cache_clear()
    allocator = Allocator()
    handed = [allocator.take(pinyin_userid(name)) for name in names]
    assert len(set(handed)) == len(names)
