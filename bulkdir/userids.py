"""Userids for new hires: a person's name as pinyin, a template of pieces, and an allocator without collisions.

A new hire often comes without a WeCom account name (userid); the importer makes one from the name. Nothing
here prints, reads a file or calls the network.

The platform's rule (A3): a userid is 1-64 bytes of ``[A-Za-z0-9_.@-]``, its first character a letter or a
digit, and two userids that differ only in case are the same one.

    >>> check_userid("zhangsan.E1001")
    'zhangsan.E1001'
    >>> check_userid("_zhangsan")
    Traceback (most recent call last):
    ...
    bulkdir.userids.UseridError: invalid-userid: '_zhangsan'

How a name becomes pinyin (`pinyin_userid`, and `initials` for the first letter of each syllable):

- toneless lowercase pinyin, syllables joined with nothing; ü is written ``v``;
- the surname read as a surname: the first character, or the first two when they are a compound surname and
  the name has at least three characters (`SURNAMES`, `COMPOUND_SURNAMES`); the surname and the given name
  are read apart, so no phrase runs across the two;
- the given name read by pypinyin as usual (its phrase dictionary, the most common reading);
- a name with a middle dot (阿依古丽·买买提, 查尔斯·达尔文) is a transliteration: every part is read as usual,
  no surname reading;
- Latin letters lowercased, accents dropped (José → jose; ü, Ü, ǘ ... → v as in pinyin), full-width letters
  and digits narrowed (NFKC); digits kept; names of mixed scripts read per character;
- dropped: spaces, the middle dots · • ・ ‧ ･ (and their look-alikes), ``.``, hyphens and dashes, apostrophes,
  zero-width characters and variation selectors;
- anything else (emoji, symbols, another script, a character pypinyin has no reading for) raises
  `UseridError` ("name-not-pinyin", with the offending characters): bulkdir does not guess a userid. So does a
  name with nothing left ("name-empty") and one whose pinyin is longer than 64 ("userid-too-long").

    >>> pinyin_userid("张三"), pinyin_userid("欧阳娜娜"), pinyin_userid("单雄信"), pinyin_userid("吕绿")
    ('zhangsan', 'ouyangnana', 'shanxiongxin', 'lvlv')
    >>> pinyin_userid("Anna Li"), pinyin_userid("李Anna"), pinyin_userid("阿依古丽·买买提"), pinyin_userid("王５")
    ('annali', 'lianna', 'ayigulimaimaiti', 'wang5')
    >>> initials("张三丰"), initials("尉迟敬德")
    ('zsf', 'ycjd')
    >>> pinyin_userid("张三😀")
    Traceback (most recent call last):
    ...
    bulkdir.userids.UseridError: name-not-pinyin: '😀'

A template (`render_template`, checked up front by `check_template`) puts pieces together: ``{pinyin}``,
``{initials}`` and ``{column:HEADER}`` (that row's cell, as given), with plain text between them kept as is.
An `Allocator` then hands out the userids in row order, numbering a taken one: zhangwei, zhangwei2, ...

    >>> render_template("{pinyin}.{column:工号}", "张三", {"工号": "E1001"})
    'zhangsan.E1001'
    >>> allocator = Allocator(taken={"zhangwei2"})
    >>> allocator.take("zhangwei"), allocator.take("zhangwei")
    ('zhangwei', 'zhangwei3')

The readings are cached per distinct name and per distinct given name, so a sheet of 100,000 rows costs a
fraction of a second (tests/test_userids.py measures it).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterable, Mapping

__all__ = ["USERID_MAX_BYTES", "SURNAMES", "COMPOUND_SURNAMES", "UseridError", "check_userid", "is_userid",
           "pinyin_userid", "initials", "check_template", "render_template", "Allocator"]

USERID_MAX_BYTES = 64
_USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@\-]*", re.ASCII)

# Surnames whose surname reading is not the one pypinyin gives the character alone (pypinyin 0.55 reads 单 dan,
# 曾 ceng, 解 jie, 仇 chou, 区 qu, 朴 pu, 查 cha, 盖 gai, 覃 tan, ...). Surnames pypinyin already reads right
# (那 na, 柏 bai, 弘 hong, 逄 pang, 过 guo, 牟 mou, 宁 ning, 亓 qi, 眭 sui, 冼 xian, 厍 she, 訾 zi, 蛮 man, 宓 mi,
# 尉 wei, 沈 shen, ...) are not listed; tests/test_userids.py holds them to it. Traditional forms are listed too.
# 尉 alone is the surname wèi (尉健行, Wei Jianxing); it is yù only in the compound 尉迟.
SURNAMES: dict[str, str] = {
    "单": "shan", "單": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "區": "ou", "朴": "piao",
    "查": "zha", "盖": "ge", "蓋": "ge", "覃": "qin", "乐": "yue", "樂": "yue", "缪": "miao", "繆": "miao",
    "翟": "zhai", "繁": "po", "秘": "bi", "种": "chong", "種": "chong", "员": "yun", "員": "yun", "贠": "yun",
    "貟": "yun", "隗": "wei", "召": "shao", "卜": "bu", "薄": "bo", "重": "chong", "能": "nai", "蕃": "pi",
    "句": "gou", "阚": "kan", "黑": "he", "洗": "xian", "佴": "nai", "折": "she", "粘": "nian",
    "祭": "zhai", "都": "du", "角": "jue", "乜": "nie", "颉": "xie", "沓": "ta", "番": "pan", "炅": "gui",
    "藏": "zang",
}

# Compound surnames, each with its syllables. Listed whether or not pypinyin reads them right on their own:
# the table also says where the surname ends, so the given name is read apart (呼延长 is 呼延 + 长 read
# alone, not 呼 + the phrase 延长).
COMPOUND_SURNAMES: dict[str, tuple[str, str]] = {
    compound: (first, second) for compound, first, second in (
        ("欧阳", "ou", "yang"), ("司马", "si", "ma"), ("上官", "shang", "guan"), ("诸葛", "zhu", "ge"),
        ("东方", "dong", "fang"), ("皇甫", "huang", "fu"), ("夏侯", "xia", "hou"), ("令狐", "ling", "hu"),
        ("慕容", "mu", "rong"), ("司徒", "si", "tu"), ("公孙", "gong", "sun"), ("宇文", "yu", "wen"),
        ("长孙", "zhang", "sun"), ("尉迟", "yu", "chi"), ("万俟", "mo", "qi"), ("澹台", "tan", "tai"),
        ("公冶", "gong", "ye"), ("宗政", "zong", "zheng"), ("濮阳", "pu", "yang"), ("淳于", "chun", "yu"),
        ("单于", "chan", "yu"), ("太叔", "tai", "shu"), ("申屠", "shen", "tu"), ("轩辕", "xuan", "yuan"),
        ("端木", "duan", "mu"), ("钟离", "zhong", "li"), ("闾丘", "lv", "qiu"), ("南宫", "nan", "gong"),
        ("西门", "xi", "men"), ("百里", "bai", "li"), ("东郭", "dong", "guo"), ("呼延", "hu", "yan"),
        ("羊舌", "yang", "she"), ("乐正", "yue", "zheng"), ("司空", "si", "kong"), ("司寇", "si", "kou"),
        ("公羊", "gong", "yang"), ("赫连", "he", "lian"), ("拓跋", "tuo", "ba"), ("独孤", "du", "gu"),
        ("第五", "di", "wu"), ("谷梁", "gu", "liang"), ("左丘", "zuo", "qiu"), ("梁丘", "liang", "qiu"),
        ("颛孙", "zhuan", "sun"), ("巫马", "wu", "ma"), ("公西", "gong", "xi"), ("漆雕", "qi", "diao"),
        ("壤驷", "rang", "si"), ("亓官", "qi", "guan"), ("公良", "gong", "liang"), ("宰父", "zai", "fu"),
        ("段干", "duan", "gan"), ("东门", "dong", "men"), ("鲜于", "xian", "yu"), ("闻人", "wen", "ren"),
        ("仲孙", "zhong", "sun"), ("叔孙", "shu", "sun"), ("公叔", "gong", "shu"), ("夹谷", "jia", "gu"),
        ("微生", "wei", "sheng"), ("完颜", "wan", "yan"), ("纳兰", "na", "lan"), ("东野", "dong", "ye"),
        ("哥舒", "ge", "shu"), ("即墨", "ji", "mo"),
        # traditional forms
        ("歐陽", "ou", "yang"), ("司馬", "si", "ma"), ("諸葛", "zhu", "ge"), ("長孫", "zhang", "sun"),
        ("尉遲", "yu", "chi"), ("萬俟", "mo", "qi"), ("澹臺", "tan", "tai"), ("單于", "chan", "yu"),
        ("軒轅", "xuan", "yuan"), ("鍾離", "zhong", "li"), ("閭丘", "lv", "qiu"), ("東方", "dong", "fang"),
        ("夏侯", "xia", "hou"), ("公孫", "gong", "sun"), ("宇文", "yu", "wen"), ("南宮", "nan", "gong"),
        ("西門", "xi", "men"), ("呼延", "hu", "yan"), ("慕容", "mu", "rong"), ("皇甫", "huang", "fu"),
    )
}

# Separators dropped from a name. The dots also mark a transliterated name (no surname reading).
_DOTS = frozenset("\u00b7\u0387\u2022\u2027\u2219\u22c5\u30fb\uff65\u2e31\ua78f\u318d\u16eb.")
_DROPPED = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63'\u2019\u02bc") | _DOTS
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad") | frozenset(map(chr, range(0xFE00, 0xFE10)))
_NOT_READ = "\x00"  # what pypinyin gives back, through `errors`, for a character it has no reading for


class UseridError(Exception):
    """A userid cannot be made. `slug` is stable (tests, problems and reports rely on it): name-not-pinyin,
    name-empty, userid-too-long, invalid-userid, unknown-template-piece, no-such-column, empty-column-cell.
    `detail` is what it is about: the offending characters, the userid, the piece or the column.

    >>> error = UseridError("no-such-column", "工号")
    >>> error.slug, error.detail, str(error)
    ('no-such-column', '工号', "no-such-column: '工号'")
    """

    def __init__(self, slug: str, detail: str = "") -> None:
        super().__init__(slug, detail)
        self.slug, self.detail = slug, detail

    def __str__(self) -> str:
        return f"{self.slug}: {self.detail!r}"


def is_userid(text: str) -> bool:
    """Whether `text` follows the platform's userid rule.

    >>> is_userid("zhangsan"), is_userid("Zhang.San@hq-1"), is_userid("-zhangsan"), is_userid("张三"), is_userid("")
    (True, True, False, False, False)
    """
    return bool(_USERID.fullmatch(text)) and len(text) <= USERID_MAX_BYTES  # ASCII only, so a byte a character


def check_userid(text: str) -> str:
    """`text` if it follows the userid rule, else UseridError "invalid-userid" (characters, first character,
    empty) or "userid-too-long" (more than 64 bytes).

    >>> check_userid("li.na")
    'li.na'
    >>> check_userid("x" * 65)
    Traceback (most recent call last):
    ...
    bulkdir.userids.UseridError: userid-too-long: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
    """
    if not _USERID.fullmatch(text):
        raise UseridError("invalid-userid", text)
    if len(text) > USERID_MAX_BYTES:
        raise UseridError("userid-too-long", text)
    return text


def _not_read(chars: str) -> str:
    return _NOT_READ + chars


@lru_cache(maxsize=1 << 16)
def _read(chars: str) -> tuple[tuple[str, ...], str]:
    """pypinyin's reading of a run of characters that are neither Latin letters nor digits: its syllables,
    and the characters it could not read."""
    # Imported here: its dictionaries take a fifth to half a second to load, which every `bulkdir` command
    # would pay, while only making userids from names reads them.
    from pypinyin import Style, lazy_pinyin

    syllables, unread = [], []
    for syllable in lazy_pinyin(chars, style=Style.NORMAL, errors=_not_read, v_to_u=False):
        if syllable.startswith(_NOT_READ):
            unread.append(syllable[1:])
        elif syllable.isascii() and syllable.isalpha():
            syllables.append(syllable.lower())
        else:  # not seen with pypinyin 0.55 in NORMAL style, but a userid is never a guess
            unread.append(syllable)
    return tuple(syllables), "".join(unread)


@lru_cache(maxsize=4096)
def _latin_letter(char: str) -> str | None:
    """A letter of the Latin alphabet as a-z (accents dropped, ü as v), or None."""
    if char.isascii():
        return char.lower() if char.isalpha() else None
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if base.isascii() and base.isalpha() and marks and all(unicodedata.combining(mark) for mark in marks):
        return "v" if base in "uU" and "\u0308" in marks else base.lower()
    return None


def _runs(text: str) -> tuple[list[tuple[str, str]], bool]:
    """The name cut into runs of one kind ("latin", "digits", "other"), separators dropped; and whether it
    had a middle dot."""
    runs: list[tuple[str, str]] = []
    kind, chars = "", list[str]()
    dotted = False
    for char in text:
        if char in _INVISIBLE:
            continue
        if char in _DROPPED or char.isspace():
            dotted = dotted or char in _DOTS
            this, piece = "", ""
        elif "0" <= char <= "9":
            this, piece = "digits", char
        elif (letter := _latin_letter(char)) is not None:
            this, piece = "latin", letter
        else:
            this, piece = "other", char
        if this != kind or not this:
            if chars:
                runs.append((kind, "".join(chars)))
            kind, chars = this, list[str]()
        if piece:
            chars.append(piece)
    if chars:
        runs.append((kind, "".join(chars)))
    return runs, dotted


@lru_cache(maxsize=1 << 17)
def _pieces(name: str) -> tuple[str, ...]:
    """A name's syllables, Latin words and runs of digits, in order; UseridError "name-not-pinyin" if some
    characters cannot be read, "name-empty" if nothing is left."""
    if 2 <= len(name) <= 4 and all("\u4e00" <= char <= "\u9fa5" for char in name):
        return _han_name(name)  # most names: two to four Chinese characters, nothing to cut or drop
    text = name if name.isascii() else unicodedata.normalize("NFKC", name)
    runs, dotted = _runs(text)
    pieces: list[str] = []
    unread: list[str] = []
    chinese = sum(len(chars) for kind, chars in runs if kind == "other")
    for index, (kind, chars) in enumerate(runs):
        if kind != "other":
            pieces.append(chars)
            continue
        if index == 0 and not dotted:  # the surname, read apart from the given name
            if chinese >= 3 and chars[:2] in COMPOUND_SURNAMES:
                pieces.extend(COMPOUND_SURNAMES[chars[:2]])
                chars = chars[2:]
            elif chars[0] in SURNAMES:
                pieces.append(SURNAMES[chars[0]])
                chars = chars[1:]
            else:
                syllables, missing = _read(chars[0])
                pieces.extend(syllables)
                unread.append(missing)
                chars = chars[1:]
        if chars:
            syllables, missing = _read(chars)
            pieces.extend(syllables)
            unread.append(missing)
    if any(unread):
        raise UseridError("name-not-pinyin", "".join(dict.fromkeys("".join(unread))))
    if not pieces:
        raise UseridError("name-empty", name)
    return tuple(pieces)


def _han_name(name: str) -> tuple[str, ...]:
    """`_pieces` of a name of two to four Chinese characters: the surname, then the given name, read apart."""
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        surname, given = list(COMPOUND_SURNAMES[name[:2]]), name[2:]
    elif name[0] in SURNAMES:
        surname, given = [SURNAMES[name[0]]], name[1:]
    else:
        syllables, missing = _read(name[0])
        if missing:
            raise UseridError("name-not-pinyin", missing)
        surname, given = list(syllables), name[1:]
    syllables, missing = _read(given)
    if missing:
        raise UseridError("name-not-pinyin", "".join(dict.fromkeys(missing)))
    return (*surname, *syllables)


@lru_cache(maxsize=1 << 16)  # a sheet of 100,000 people has many names twice: each is read once
def pinyin_userid(name: str) -> str:
    """A person's name as a userid: toneless lowercase pinyin, the surname read as a surname (see the module's
    rules); UseridError if it cannot be made without a guess.

    >>> pinyin_userid("曾小贤"), pinyin_userid("万俟卨"), pinyin_userid("朴智星"), pinyin_userid("Ｌｉ Ｎａ")
    ('zengxiaoxian', 'moqixie', 'piaozhixing', 'lina')
    >>> pinyin_userid("·")
    Traceback (most recent call last):
    ...
    bulkdir.userids.UseridError: name-empty: '·'
    """
    return check_userid("".join(_pieces(name)))


def initials(name: str) -> str:
    """The first letter of each syllable (and of each Latin word; digits kept whole), with the same rules.

    >>> initials("张三丰"), initials("欧阳娜娜"), initials("单田芳"), initials("Anna Li"), initials("李雷2")
    ('zsf', 'oynn', 'stf', 'al', 'll2')
    """
    return check_userid("".join(piece if piece[0].isdigit() else piece[0] for piece in _pieces(name)))


_PIECE = re.compile(r"\{([^}]*)\}")
_COLUMN = "column:"


@lru_cache(maxsize=256)
def _template(template: str) -> tuple[tuple[str, str], ...]:
    """A template as its parts: ("text", the text), ("pinyin", ""), ("initials", "") or ("column", header)."""
    parts: list[tuple[str, str]] = []
    position = 0
    for match in [*_PIECE.finditer(template), None]:
        text = template[position:match.start() if match else len(template)]
        if "{" in text or "}" in text:
            raise UseridError("unknown-template-piece", text)
        if text:
            parts.append(("text", text))
        if match is None:
            break
        body = match.group(1)
        if body in ("pinyin", "initials"):
            parts.append((body, ""))
        elif body.startswith(_COLUMN):
            parts.append(("column", body[len(_COLUMN):]))
        else:
            raise UseridError("unknown-template-piece", match.group(0))
        position = match.end()
    return tuple(parts)


def check_template(template: str, headers: Iterable[str]) -> None:
    """Check a template before any row is read: its pieces, the columns it names (`headers` are the sheet's,
    matched exactly) and the plain text between them. UseridError "unknown-template-piece", "no-such-column"
    or "invalid-userid".

    >>> check_template("{pinyin}.{column:工号}", ["姓名", "工号"])
    >>> check_template("{pinyin}.{column:员工编号}", ["姓名", "工号"])
    Traceback (most recent call last):
    ...
    bulkdir.userids.UseridError: no-such-column: '员工编号'
    """
    parts = _template(template)
    if not parts:
        raise UseridError("invalid-userid", template)
    known = set(headers)
    for index, (kind, value) in enumerate(parts):
        if kind == "column" and value not in known:
            raise UseridError("no-such-column", value)
        if kind == "text":
            # plain text must be userid characters, and may not start the userid with _ . @ -
            if not _USERID.fullmatch(("a" if index else "") + value):
                raise UseridError("invalid-userid", value)


def render_template(template: str, name: str, columns: Mapping[str, str]) -> str:
    """A userid from a template: ``{pinyin}`` and ``{initials}`` of `name`, ``{column:HEADER}`` the row's cell
    of that column as given, plain text kept. UseridError for an unknown piece, a missing column
    ("no-such-column"), a blank cell ("empty-column-cell"), a name with no pinyin, or a result that breaks the
    userid rule ("invalid-userid", "userid-too-long").

    >>> render_template("{initials}{column:工号}", "张三丰", {"工号": "1001"})
    'zsf1001'
    >>> render_template("{pinyin}.{column:工号}", "张三", {"工号": ""})
    Traceback (most recent call last):
    ...
    bulkdir.userids.UseridError: empty-column-cell: '工号'
    """
    out: list[str] = []
    for kind, value in _template(template):
        if kind == "text":
            out.append(value)
        elif kind == "pinyin":
            out.append(pinyin_userid(name))
        elif kind == "initials":
            out.append(initials(name))
        else:
            if value not in columns:
                raise UseridError("no-such-column", value)
            cell = columns[value]
            if cell is None or not str(cell).strip():
                raise UseridError("empty-column-cell", value)
            out.append(str(cell))
    return check_userid("".join(out))


class Allocator:
    """Hands out userids in row order without collisions, case-insensitively: `take(base)` is `base` if it is
    free, else base2, base3, ... (the first free one; the base is shortened, never the number, to stay within
    64 bytes). `taken` are the directory's userids; `reserve` the userids that rows of the sheet already have
    (reserve them all before the first `take`, so a generated one never collides with a later row's).

    >>> allocator = Allocator(taken={"LiNa"})
    >>> allocator.reserve("wangwu")
    >>> allocator.take("lina"), allocator.take("wangwu"), allocator.take("zhangwei"), allocator.take("zhangwei")
    ('lina2', 'wangwu2', 'zhangwei', 'zhangwei2')
    >>> "ZHANGWEI2" in allocator, "zhangwei3" in allocator
    (True, False)
    """

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = {userid.lower() for userid in taken}
        self._next: dict[str, int] = {}  # per base, the number to try first: every lower one is taken

    def __contains__(self, userid: object) -> bool:
        return isinstance(userid, str) and userid.lower() in self._taken

    def reserve(self, userid: str) -> None:
        """Mark a userid as used (case-insensitively), so `take` never hands it out."""
        self._taken.add(userid.lower())

    def take(self, base: str, *, checked: bool = False) -> str:
        """The first free one of base, base2, base3, ..., now taken. UseridError if `base` is not a userid
        (`checked`: the caller made it with `pinyin_userid` or `render_template`, which check it already)."""
        if not checked:
            check_userid(base)
        key = base.lower()
        number = self._next.get(key, 1)
        if number == 1 and key not in self._taken:  # a base no one has yet, as most are
            self._next[key] = 2
            self._taken.add(key)
            return base
        while True:
            if number == 1:
                candidate = base
            else:
                suffix = str(number)
                candidate = base[:USERID_MAX_BYTES - len(suffix)] + suffix
            if candidate.lower() not in self._taken:
                break
            number += 1
        self._next[key] = number + 1
        self._taken.add(candidate.lower())
        return candidate
