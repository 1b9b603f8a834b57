"""Channel names: validation, kinds, and subscription (wildcard) matching."""

from __future__ import annotations

from functools import lru_cache

META = "/meta/"
SERVICE = "/service/"


def is_valid(channel: str) -> bool:
    """A channel is ``/seg/seg...``; a wildcard segment (``*`` or ``**``) may only come last."""
    if len(channel) < 2 or channel[0] != "/":
        return False
    segments = channel[1:].split("/")
    for index, segment in enumerate(segments):
        if not segment:
            return False
        if "*" in segment and (segment not in ("*", "**") or index != len(segments) - 1):
            return False
    return True


def is_wild(channel: str) -> bool:
    return channel.endswith("/*") or channel.endswith("/**")


def is_meta(channel: str) -> bool:
    return channel.startswith(META)


def is_service(channel: str) -> bool:
    return channel.startswith(SERVICE)


@lru_cache(maxsize=65_536)
def patterns(channel: str) -> frozenset[str]:
    """Every subscription that matches ``channel``: itself, ``parent/*`` and each ``ancestor/**``.

    Matching a delivery is then a set intersection with the session's subscriptions, whatever
    their number; the cache makes the computation once per channel name.
    """
    segments = channel[1:].split("/")
    result = {channel, "/" + "/".join([*segments[:-1], "*"])}
    for depth in range(len(segments)):
        result.add("/" + "/".join([*segments[:depth], "**"]))
    return frozenset(result)


def matches(subscription: str, channel: str) -> bool:
    return subscription in patterns(channel)
