"""One number, one customer: how numbers are normalised to E.164 at the connectors' edge."""

from __future__ import annotations

import pytest

from smsdesk.operations.phone_numbers import InvalidPhoneNumber, check_region, normalise


@pytest.mark.parametrize(
    ("raw", "region", "international", "expected"),
    [
        ("+15557770100", "", False, "+15557770100"),  # Twilio
        ("15557770100", "", False, "+15557770100"),  # an SMSC's plain digits
        ("15557770100", "", True, "+15557770100"),  # ... marked international (TON 1)
        ("+1 (555) 777-0100", "", False, "+15557770100"),
        ("5557770100", "US", False, "+15557770100"),  # national format, read in the default region
        ("07700 900123", "GB", False, "+447700900123"),
        ("447700900123", "GB", False, "+447700900123"),
        ("0044 7700 900123", "", False, "+447700900123"),
        ("+15550100", "", False, "+15550100"),  # the demo number stays what it is
        ("12345", "US", False, "12345"),  # a short code never grows a country code
        ("MyBank", "", False, "MyBank"),  # an alphanumeric sender id
    ],
)
def test_numbers_become_e164_when_they_can(raw: str, region: str, international: bool, expected: str) -> None:
    assert normalise(raw, region, international=international) == expected


def test_an_empty_number_is_refused() -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalise("  ")


def test_the_default_region_is_checked() -> None:
    assert check_region("us") == "US"
    assert check_region("") == ""
    with pytest.raises(InvalidPhoneNumber, match="not a known ISO 3166 region"):
        check_region("XX")
