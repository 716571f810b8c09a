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
import re
from typing import Any, Callable, Iterable, Iterator

_SPACE = re.compile(r"[ \t\n\r]*")


class _Text:
    """The answer's text read so far, from `position` on; older text is let go as more arrives."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        # json.loads keeps one string per key for the whole text; parsing element by element would make
        # each member's keys strings of their own (about 1 KB a member), so they are shared here
        keys: dict[str, str] = {}
        self._decoder = json.JSONDecoder(
            object_pairs_hook=lambda pairs: {keys.setdefault(key, key): value for key, value in pairs})
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
            if end == len(self.text) and self.more():
                continue  # a number or a literal may go on in the next chunk
            self.position = end
            return value


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
