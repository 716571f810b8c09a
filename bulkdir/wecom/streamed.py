"""Read a JSON answer as it arrives, one element of its long list at a time.

user/list of a whole corp of 100,000 answers some 60 MB. `json.loads` needs all of it at once as bytes,
then as text (two bytes a character once a name is Chinese), then as objects: about 300 MB at the peak
before a single member is used. Here the text is decoded chunk by chunk and each element of the list
is parsed on its own, so only the objects are ever held whole, and each element can be trimmed as it
is read (`each`). The result is the object `json.loads` would give, the list's elements passed through
`each`; malformed JSON raises ValueError as `json.loads` does.

>>> chunks = [b'{"errcode": 0, "userlist": [{"userid": "zhang', b'san", "qr_code": "x"}, {"userid": "lisi"}]}']
>>> load_object(chunks, "userlist", lambda member: {k: v for k, v in member.items() if k != "qr_code"})
{'errcode': 0, 'userlist': [{'userid': 'zhangsan'}, {'userid': 'lisi'}]}
"""

from __future__ import annotations

import codecs
import json
import operator
import re
from typing import Any, Callable, Iterable, Iterator

_SPACE = re.compile(r"[ \t\n\r]*")
# what may follow the part of a number cut off at the end of a chunk: "1." or "1e" is not yet the number
_NUMBER_GOES_ON = re.compile(r"[.eE][-+]?\Z")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Text:
    """The answer's text read so far, from `position` on; older text is let go as more arrives."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._decoder = json.JSONDecoder()
        # utf-8-sig: a byte-order mark is taken off, as requests' own json() does
        self._bytes_decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.position = 0
        self.ended = False

    def more(self) -> bool:
        """Read on; False once the answer is all read."""
        while not self.ended:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.ended = True
                piece = self._bytes_decoder.decode(b"", final=True)
            else:
                piece = self._bytes_decoder.decode(chunk)
            if piece:
                self.text = self.text[self.position:] + piece
                self.position = 0
                return True
        return False

    def next_char(self) -> str:
        """The next character that is not white space (left unread); ValueError at the end of the answer."""
        while True:
            self.position = _SPACE.match(self.text, self.position).end()  # type: ignore[union-attr]
            if self.position < len(self.text):
                return self.text[self.position]
            if not self.more():
                raise ValueError("the answer ends before its JSON does")

    def take(self, expected: str) -> str:
        """The next character, which must be one of `expected`."""
        char = self.next_char()
        if char not in expected:
            raise ValueError(f"unexpected {char!r} at character {self.position} of the answer's JSON")
        self.position += 1
        return char

    def value(self) -> Any:
        """The next whole JSON value."""
        self.next_char()
        while True:
            try:
                value, end = self._decoder.raw_decode(self.text, self.position)
            except json.JSONDecodeError:
                if self.more():  # cut off at the end of what has arrived: read on and try again
                    continue
                raise
            if (end == len(self.text) or (_is_number(value) and _NUMBER_GOES_ON.match(self.text, end))) \
                    and self.more():
                continue  # a number or a literal may go on in the next chunk ("1." of "1.5" parses as 1)
            self.position = end
            return value


class SharedKeys:
    """Objects made again with one string per key for all of them, as one `json.loads` of the whole text
    would have them, but the keys in `without`. Parsed element by element, each member's keys would be
    strings of their own (about 1 KB a member). Done in C for each layout of keys met before (a corp's
    members have a handful); past `_LAYOUTS` layouts the keys are left as they came.

    >>> share = SharedKeys(without=["qr_code"])
    >>> one, two = share({"userid": "a", "qr_code": "x"}), share({"userid": "b", "qr_code": "y"})
    >>> one, two, [k for k in one][0] is [k for k in two][0]
    ({'userid': 'a'}, {'userid': 'b'}, True)
    """

    _LAYOUTS = 1000

    def __init__(self, without: Iterable[str] = ()) -> None:
        self._without = frozenset(without)
        self._layouts: dict[tuple[str, ...], tuple[tuple[str, ...], Callable[[list], Any]]] = {}

    def __call__(self, value: dict) -> dict:
        layout = tuple(value)
        known = self._layouts.get(layout)
        if known is None:
            if len(self._layouts) >= self._LAYOUTS:
                return {key: item for key, item in value.items() if key not in self._without}
            places = [place for place, key in enumerate(layout) if key not in self._without]
            pick: Callable[[list], Any] = operator.itemgetter(*places) if len(places) > 1 else (
                lambda items: tuple(items[place] for place in places))
            known = self._layouts[layout] = (tuple(layout[place] for place in places), pick)
        keys, pick = known
        return dict(zip(keys, pick(list(value.values()))))


def load_object(chunks: Iterable[bytes], list_key: str, each: Callable[[dict], Any]) -> dict:
    """The JSON object in `chunks`, its `list_key` array read element by element, objects through `each`."""
    text = _Text(chunks)
    answer: dict[str, Any] = {}
    text.take("{")
    if text.next_char() == "}":
        text.position += 1
    else:
        while True:
            key = text.value()
            if not isinstance(key, str):
                raise ValueError("a key of the answer's JSON object is not a string")
            text.take(":")
            if key == list_key and text.next_char() == "[":
                text.position += 1
                answer[key] = _elements(text, each)
            else:
                answer[key] = text.value()
            if text.take(",}") == "}":
                break
    try:
        text.next_char()
    except ValueError:
        return answer  # nothing but white space after the object
    raise ValueError("the answer goes on after its JSON object")


def _elements(text: _Text, each: Callable[[dict], Any]) -> list:
    elements: list = []
    if text.next_char() == "]":
        text.position += 1
        return elements
    while True:
        element = text.value()
        elements.append(each(element) if isinstance(element, dict) else element)
        if text.take(",]") == "]":
            return elements
