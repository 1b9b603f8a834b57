"""One number, one customer: every phone number becomes E.164 where it enters the server.

Carriers write the same handset differently (Twilio ``+15557770100``, an SMSC ``15557770100``, or
a national ``5557770100``); sessions, consent and service numbers are keyed by the number, so each
connector normalises at its edge with :func:`normalise`, and configured service numbers go through
it too. What cannot be a phone number in E.164 is kept as given, trimmed: short codes (``12345``)
and alphanumeric sender ids (``MyBank``) are real SMS addresses.
"""

from __future__ import annotations

import re
from typing import Final

import phonenumbers

_SEPARATORS: Final = re.compile(r"[\s().\-/]")


class InvalidPhoneNumber(ValueError):
    pass


def check_region(region: str) -> str:
    """The ``default_region`` setting: empty, or a two-letter region phonenumbers knows (``US``)."""
    code = region.strip().upper()
    if code and code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidPhoneNumber(
            f"default_region {region!r} is not a known ISO 3166 region code (e.g. US, GB)"
        )
    return code


def normalise(raw: str, default_region: str = "", *, international: bool = False) -> str:
    """``raw`` in E.164 when it can be read as a phone number, else ``raw`` trimmed.

    ``international`` says the carrier marked the digits as international (SMPP TON 1) although they
    lack the ``+``. Plain digits are read in ``default_region`` first (national formats), then as
    international digits without their ``+``; a reading counts only if its length is possible for
    that country, so a short code never grows a country code.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("empty phone number")
    if any(character.isalpha() for character in text):
        return text  # an alphanumeric sender id
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not compact.lstrip("+").isdigit():
        return text
    if compact.startswith("+"):
        # Written as international: trust it, even when it is shorter than any real plan (test numbers).
        parsed = _parse(compact, None)
        return _e164(parsed) if parsed is not None else compact
    readings: list[tuple[str, str | None]] = []
    if international:
        readings.append(("+" + compact, None))
    elif default_region:
        readings.append((compact, default_region))
    readings.append(("+" + compact, None))
    for candidate, region in readings:
        parsed = _parse(candidate, region)
        if parsed is not None and phonenumbers.is_possible_number(parsed):
            return _e164(parsed)
    return compact


def _parse(candidate: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
