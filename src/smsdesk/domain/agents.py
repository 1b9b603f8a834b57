"""Agent channel state: logging in on media channels and being Ready or NotReady there."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smsdesk.domain.errors import invalid_value

SMS_CHANNEL = "smssession"
CHANNEL_ALIASES = {"sms": SMS_CHANNEL}
# Channels an agent may log in on. Only smssession carries work here; the others are accepted so a
# desktop that logs in on several media does not fail, and report their state faithfully.
KNOWN_CHANNELS = frozenset({SMS_CHANNEL, "chat", "email", "voice", "workitem", "im"})


class ChannelState(StrEnum):
    READY = "Ready"
    NOT_READY = "NotReady"


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    channel: str
    state: ChannelState


def canonical_channel(name: str) -> str:
    channel = CHANNEL_ALIASES.get(name, name)
    if channel not in KNOWN_CHANNELS:
        raise invalid_value(f"Unknown channel: {name}")
    return channel
