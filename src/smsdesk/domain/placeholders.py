"""Placeholders in texts written ahead of time (standard responses, automatic replies):
``{{customer.phoneNumber}}``, ``{{agent.firstName}}``, ``{{userData.OrderNumber}}``...

A text is checked when it is saved (every placeholder must be one the text's use knows), and
filled when it is sent. A placeholder with no value stops the send and is named: a customer must
never receive "Hello ," with a hole where a name should be.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from smsdesk.domain.errors import DomainError, ErrorKind

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

STANDARD_RESPONSE_NAMES = (
    "customer.phoneNumber",
    "agent.firstName",
    "agent.lastName",
    "agent.nickname",
    "agent.userName",
)
"""What a standard response may use, besides ``userData.<key>``."""

CLOSED_REPLY_NAMES = ("customer.phoneNumber", "queue.name", "queue.opensAt", "queue.position")
WAITING_REPLY_NAMES = ("customer.phoneNumber", "queue.name", "queue.position")


def names_in(text: str) -> list[str]:
    """The placeholders of ``text``, in order, each once."""
    seen: list[str] = []
    for match in PLACEHOLDER.finditer(text):
        if match.group(1) not in seen:
            seen.append(match.group(1))
    return seen


def check(text: str, known: Iterable[str], user_data: bool, what: str) -> None:
    """Refuse (statusCode 10) a text with a placeholder its use does not know, or a ``{{`` left
    open; the message names them and lists what may be used."""
    allowed = list(known)
    unknown = [
        name
        for name in names_in(text)
        if name not in allowed and not (user_data and _user_data_key(name) is not None)
    ]
    remainder = PLACEHOLDER.sub("", text)
    if "{{" in remainder or "}}" in remainder:
        raise DomainError(
            ErrorKind.INVALID_VALUE,
            f"Invalid {what}: a placeholder is not closed (write them as {{{{name}}}})",
        )
    if unknown:
        usable = ", ".join(f"{{{{{name}}}}}" for name in allowed) + (
            ", {{userData.KEY}}" if user_data else ""
        )
        listed = ", ".join(f"{{{{{name}}}}}" for name in unknown)
        raise DomainError(
            ErrorKind.INVALID_VALUE, f"Invalid {what}: unknown placeholder {listed} (use {usable})"
        )


def _user_data_key(name: str) -> str | None:
    head, dot, key = name.partition(".")
    return key if head == "userData" and dot and key else None


def user_data_key(name: str) -> str | None:
    """``KEY`` of a ``userData.KEY`` placeholder, else None."""
    return _user_data_key(name)


def fill(text: str, value_of: Callable[[str], str | None], what: str) -> str:
    """``text`` with every placeholder replaced by its value; a :class:`DomainError` (statusCode 2)
    naming every placeholder that has no value (absent, empty, or not a text or a number)."""
    missing = [name for name in names_in(text) if not value_of(name)]
    if missing:
        listed = ", ".join(f"{{{{{name}}}}}" for name in missing)
        raise DomainError(
            ErrorKind.INVALID_STATE,
            f"Cannot send {what}: no value for {listed} in this session",
        )
    return PLACEHOLDER.sub(lambda match: value_of(match.group(1)) or "", text)
