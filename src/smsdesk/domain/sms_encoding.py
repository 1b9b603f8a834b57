"""GSM 03.38 detection, segment counting and splitting for SMS text.

A message goes out as GSM-7 when every character is in the GSM 03.38 basic set or its
extension table, and as UCS-2 otherwise. Extension characters cost two septets (escape +
code) and characters outside the Basic Multilingual Plane cost two UTF-16 code units; a
split never separates those pairs, as handsets would show garbage, so a concatenated message
can need one more part than a plain division suggests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

EncodingName = Literal["GSM-7", "UCS-2"]

# Index = septet value. 0x1B is the escape to the extension table, not a character.
_GSM7_BASIC_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_ESCAPE: Final = 0x1B
GSM7_BASIC: Final[dict[str, int]] = {
    char: septet for septet, char in enumerate(_GSM7_BASIC_TABLE) if septet != _ESCAPE
}
GSM7_EXTENSION: Final[dict[str, int]] = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_GSM7_BY_SEPTET: Final = {septet: char for char, septet in GSM7_BASIC.items()}
_GSM7_EXTENSION_BY_SEPTET: Final = {septet: char for char, septet in GSM7_EXTENSION.items()}

GSM7_SINGLE_LIMIT: Final = 160
GSM7_PART_LIMIT: Final = 153
UCS2_SINGLE_LIMIT: Final = 70
UCS2_PART_LIMIT: Final = 67


@dataclass(frozen=True, slots=True)
class SmsEncoding:
    """How a text travels: its alphabet, how many parts it takes, and its length in that alphabet.

    ``units`` are septets for GSM-7 and UTF-16 code units for UCS-2. An empty text still costs
    one segment.
    """

    encoding: EncodingName
    segments: int
    units: int


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _unit_cost(char: str, encoding: EncodingName) -> int:
    if encoding == "GSM-7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def _limits(encoding: EncodingName) -> tuple[int, int]:
    if encoding == "GSM-7":
        return GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT
    return UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT


def split_into_parts(text: str) -> tuple[EncodingName, tuple[str, ...]]:
    """Split ``text`` into the per-segment texts a concatenated SMS carries, in order."""
    encoding: EncodingName = "GSM-7" if is_gsm7(text) else "UCS-2"
    single_limit, part_limit = _limits(encoding)
    costs = [_unit_cost(char, encoding) for char in text]
    if sum(costs) <= single_limit:
        return encoding, (text,)
    parts: list[str] = []
    start = 0
    used = 0
    for index, cost in enumerate(costs):
        if used + cost > part_limit:
            parts.append(text[start:index])
            start, used = index, 0
        used += cost
    parts.append(text[start:])
    return encoding, tuple(parts)


def analyse(text: str) -> SmsEncoding:
    encoding, parts = split_into_parts(text)
    units = sum(_unit_cost(char, encoding) for char in text)
    return SmsEncoding(encoding=encoding, segments=len(parts), units=units)


def gsm7_encode(text: str) -> bytes:
    """Unpacked GSM-7 (one septet per octet), as SMPP carries it with data_coding 0x00.

    Raises ``ValueError`` for a character outside GSM 03.38.
    """
    encoded = bytearray()
    for char in text:
        septet = GSM7_BASIC.get(char)
        if septet is not None:
            encoded.append(septet)
            continue
        extension = GSM7_EXTENSION.get(char)
        if extension is None:
            raise ValueError(f"character {char!r} is not in GSM 03.38")
        encoded += bytes((_ESCAPE, extension))
    return bytes(encoded)


def gsm7_decode(data: bytes) -> str:
    """Decode unpacked GSM-7; an unknown code becomes U+FFFD rather than failing a whole message."""
    chars: list[str] = []
    escaped = False
    for octet in data:
        septet = octet & 0x7F
        if escaped:
            escaped = False
            # An unknown extension code shows as its basic character, per GSM 03.38.
            chars.append(_GSM7_EXTENSION_BY_SEPTET.get(septet, _GSM7_BY_SEPTET.get(septet, "\ufffd")))
        elif septet == _ESCAPE:
            escaped = True
        else:
            chars.append(_GSM7_BY_SEPTET.get(septet, "\ufffd"))
    return "".join(chars)
