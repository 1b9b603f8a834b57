"""GSM 03.38 detection and segment counts, cross-checked against independent implementations.

The references are the ``gsm0338`` codec (alphabet and septet count) and ``smpplib.gsm.make_parts``
(segment count). smpplib's table has known mistakes (it maps backtick where GSM has ``§`` and
lacks form feed), so texts fed to it avoid those characters. smpplib splits by bytes and may cut an
escape sequence or a surrogate pair in two; ours never does, so with such characters we may need
more parts than smpplib, bounded by what a one-unit loss per part can cost.
"""

from __future__ import annotations

import math

import gsm0338  # type: ignore[import-untyped]  # noqa: F401  # registers the "gsm03.38" codec
import pytest
import smpplib.consts
import smpplib.gsm
from hypothesis import given, settings
from hypothesis import strategies as st

from smsdesk.domain.sms_encoding import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    analyse,
    gsm7_decode,
    gsm7_encode,
    split_into_parts,
)

SMPPLIB_MISTAKES = frozenset("§`\f\x1b")


def reference_encoding(text: str) -> tuple[str, int]:
    """Alphabet and unit count according to the gsm0338 codec."""
    try:
        return "GSM-7", len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        return "UCS-2", len(text.encode("utf-16-be")) // 2


def reference_segment_count(text: str) -> int:
    parts, _encoding, _esm_class = smpplib.gsm.make_parts(text)
    return len(parts)


def has_split_hazard(text: str, encoding: str) -> bool:
    if encoding == "GSM-7":
        return any(char in GSM7_EXTENSION for char in text)
    return any(ord(char) > 0xFFFF for char in text)


def assert_matches_references(text: str) -> None:
    result = analyse(text)
    expected_encoding, expected_units = reference_encoding(text)
    assert (result.encoding, result.units) == (expected_encoding, expected_units)
    if SMPPLIB_MISTAKES.intersection(text) or not text:
        return
    smpplib_segments = reference_segment_count(text)
    if not has_split_hazard(text, result.encoding):
        assert result.segments == smpplib_segments
    else:
        part_limit = 153 if result.encoding == "GSM-7" else 67
        assert smpplib_segments <= result.segments <= max(1, math.ceil(result.units / (part_limit - 1)))


GSM_BASIC_SAMPLE = "Hello @£$¥ èéùìò Ç Øø Åå Δ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./ 0-9:;<=>? ¡ÄÖÑÜ§¿äöñüà"

CORPUS: list[tuple[str, str, int, int]] = [
    # text, encoding, segments, units
    ("", "GSM-7", 1, 0),
    ("Your order has shipped", "GSM-7", 1, 22),
    (GSM_BASIC_SAMPLE, "GSM-7", 1, len(GSM_BASIC_SAMPLE)),
    ("€[]{}^~\\|", "GSM-7", 1, 18),
    ("a" * 160, "GSM-7", 1, 160),
    ("a" * 161, "GSM-7", 2, 161),
    ("a" * 306, "GSM-7", 2, 306),
    ("a" * 307, "GSM-7", 3, 307),
    ("€" * 80, "GSM-7", 1, 160),
    ("€" * 81, "GSM-7", 2, 162),
    # 152 plain septets then an escape pair: the pair cannot straddle the part boundary.
    ("a" * 152 + "€" + "b" * 10, "GSM-7", 2, 164),
    ("ü" * 70, "GSM-7", 1, 70),
    ("ç", "UCS-2", 1, 1),
    ("日" * 70, "UCS-2", 1, 70),
    ("日" * 71, "UCS-2", 2, 71),
    ("日" * 134, "UCS-2", 2, 134),
    ("日" * 135, "UCS-2", 3, 135),
    ("😀", "UCS-2", 1, 2),
    ("😀" * 35, "UCS-2", 1, 70),
    ("😀" * 36, "UCS-2", 2, 72),
    # 66 units then a surrogate pair that would straddle the 67-unit boundary.
    ("a" * 66 + "😀" + "b" * 66, "UCS-2", 3, 134),
    ("Thanks! 😀 See you at 5", "UCS-2", 1, 23),
    ("Price: 10€ [promo]", "GSM-7", 1, 21),
    ("Réservation confirmée", "GSM-7", 1, 21),
    ("Ça coûte 5 €", "UCS-2", 1, 12),
    ("Привет, как дела?", "UCS-2", 1, 17),
    ("订单已发货 请注意查收。", "UCS-2", 1, 12),
]


@pytest.mark.parametrize(("text", "encoding", "segments", "units"), CORPUS)
def test_corpus_against_expectations_and_references(
    text: str, encoding: str, segments: int, units: int
) -> None:
    result = analyse(text)
    assert (result.encoding, result.segments, result.units) == (encoding, segments, units)
    assert_matches_references(text)


def test_straddling_pair_needs_a_third_part_only_when_it_must() -> None:
    # 153 * 2 = 306 septets would fit two parts, but the escape at 152/153 pushes one septet over.
    text = "a" * 152 + "€" + "b" * 152
    assert analyse(text).units == 306
    assert analyse(text).segments == 3


gsm_alphabet = st.sampled_from(sorted(set(GSM7_BASIC) | set(GSM7_EXTENSION)))
any_character = st.characters(codec="utf-8", exclude_characters="\x1b")


@settings(max_examples=300)
@given(st.text(alphabet=gsm_alphabet, max_size=500))
def test_gsm_texts_match_references(text: str) -> None:
    assert analyse(text).encoding == "GSM-7"
    assert_matches_references(text)


@settings(max_examples=300)
@given(st.text(alphabet=any_character, max_size=400))
def test_any_text_matches_references(text: str) -> None:
    assert_matches_references(text)


@settings(max_examples=300)
@given(st.text(alphabet=st.one_of(gsm_alphabet, any_character), max_size=700))
def test_parts_rejoin_and_respect_limits(text: str) -> None:
    encoding, parts = split_into_parts(text)
    assert "".join(parts) == text
    assert len(parts) == analyse(text).segments
    if len(parts) > 1:
        for part in parts:
            if encoding == "GSM-7":
                assert 0 < len(gsm7_encode(part)) <= 153
            else:
                assert 0 < len(part.encode("utf-16-be")) // 2 <= 67


@given(st.text(alphabet=gsm_alphabet, max_size=300))
def test_gsm7_round_trip_and_matches_codec(text: str) -> None:
    encoded = gsm7_encode(text)
    assert encoded == text.encode("gsm03.38")
    assert gsm7_decode(encoded) == text


def test_gsm7_encode_refuses_non_gsm() -> None:
    with pytest.raises(ValueError):
        gsm7_encode("😀")


def test_smpplib_uses_the_data_codings_we_send() -> None:
    # Our SMPP connector relies on 0x00 = GSM default alphabet and 0x08 = UCS-2, as smpplib does.
    assert smpplib.consts.SMPP_ENCODING_DEFAULT == 0x00
    assert smpplib.consts.SMPP_ENCODING_ISO10646 == 0x08
