"""Opt-out and opt-in keywords: a customer's whole message decides their consent.

Carriers' list (CTIA: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT; START and UNSTOP to return)
and the regulator's additions (FCC 2025: REVOKE, OPTOUT, and "STOP ALL"-style spellings) are
honoured by default. YES counts as opt-in only from a customer who opted out, as it is an
ordinary answer otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

CARRIER_OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
REGULATOR_OPT_OUT = frozenset({"REVOKE", "OPTOUT", "OPT OUT", "STOP ALL", "UNSUB"})
CARRIER_OPT_IN = frozenset({"START", "UNSTOP"})
OPT_IN_WHEN_OPTED_OUT = frozenset({"YES"})

_NOISE = re.compile(r"[\s.!¡?¿,;:'\"-]+")


class ConsentChange(Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


@dataclass(frozen=True, slots=True)
class ConsentKeywords:
    opt_out: frozenset[str] = field(default_factory=lambda: CARRIER_OPT_OUT | REGULATOR_OPT_OUT)
    opt_in: frozenset[str] = CARRIER_OPT_IN
    opt_in_when_opted_out: frozenset[str] = OPT_IN_WHEN_OPTED_OUT

    def classify(self, text: str, currently_opted_out: bool) -> ConsentChange | None:
        word = _NOISE.sub(" ", text).strip().upper()
        if word in self.opt_out or word.replace(" ", "") in self.opt_out:
            return None if currently_opted_out else ConsentChange.OPT_OUT
        if currently_opted_out and (word in self.opt_in or word in self.opt_in_when_opted_out):
            return ConsentChange.OPT_IN
        return None


OPTED_OUT_NOTICE = "The customer opted out of SMS from this number ({reason}); nothing can be sent to them until they text START."
OPTED_IN_NOTICE = "The customer opted back in to SMS from this number ({reason})."
