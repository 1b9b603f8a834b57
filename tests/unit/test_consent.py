"""Opt-out / opt-in keyword rules."""

from __future__ import annotations

import pytest

from smsdesk.domain.consent import ConsentChange, ConsentKeywords

KEYWORDS = ConsentKeywords()


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", " Stop. ", "STOP!", "Stop all", "STOPALL", "unsubscribe", "Revoke", "opt-out", "QUIT"],
)
def test_carrier_and_regulator_opt_out_words(text: str) -> None:
    assert KEYWORDS.classify(text, currently_opted_out=False) is ConsentChange.OPT_OUT


@pytest.mark.parametrize(
    "text", ["please stop calling me", "stopped", "I want to cancel my order", "end?!x", ""]
)
def test_only_the_whole_message_counts(text: str) -> None:
    assert KEYWORDS.classify(text, currently_opted_out=False) is None


def test_opt_out_again_changes_nothing() -> None:
    assert KEYWORDS.classify("STOP", currently_opted_out=True) is None


@pytest.mark.parametrize("text", ["START", "unstop", "Yes"])
def test_opt_in_words_for_an_opted_out_customer(text: str) -> None:
    assert KEYWORDS.classify(text, currently_opted_out=True) is ConsentChange.OPT_IN


def test_yes_and_start_are_ordinary_answers_otherwise() -> None:
    assert KEYWORDS.classify("YES", currently_opted_out=False) is None
    assert KEYWORDS.classify("START", currently_opted_out=False) is None


def test_custom_keyword_sets() -> None:
    custom = ConsentKeywords(opt_out=frozenset({"ARRET"}), opt_in=frozenset({"COMMENCER"}))
    assert custom.classify("arrêt".replace("ê", "e"), currently_opted_out=False) is ConsentChange.OPT_OUT
    assert custom.classify("STOP", currently_opted_out=False) is None
    assert custom.classify("commencer", currently_opted_out=True) is ConsentChange.OPT_IN
