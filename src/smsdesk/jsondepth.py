"""How deeply a JSON document nests, measured on the raw bytes before any decoder recurses into it.

msgspec (like every recursive decoder) raises ``RecursionError`` on a document nested about a
thousand levels deep, even inside a field it would ignore. Checking the bytes first turns that into
an ordinary "too deep" refusal. Standard library only, so every layer (the generic Bayeux server
included) can use it.
"""

from __future__ import annotations

import re

# A JSON string (escapes included, written as the "unrolled loop" so the regex engine does not
# backtrack per character), or one bracket. Brackets inside strings are thereby skipped.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPENERS = frozenset(b"[{")


def nests_deeper_than(body: bytes, limit: int) -> bool:
    """Whether ``body`` has more than ``limit`` levels of arrays/objects. Malformed JSON is measured
    as far as it goes (the decoder refuses it afterwards)."""
    # Cheap common case: a document with few brackets cannot nest deeply (counting is in C).
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(body):
        first = match.group()[0]
        if first in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif first != 0x22:  # a closing bracket; strings are skipped
            depth -= 1
    return False
