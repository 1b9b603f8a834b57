"""JSON representations of GWS resources: the SMS session, participants, message-log entries, users."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from smsdesk.domain.capabilities import capabilities_for
from smsdesk.domain.model import FINAL_STATES, Message, Participant, PartyState, SessionRecord

SYSTEM_READY_ID = "9430250E-0A1B-421F-B372-F29E69366DED"
SYSTEM_NOT_READY_ID = "900D55CC-2BB0-431F-8BF9-D3525B383BE6"


@lru_cache(maxsize=8192)
def gws_timestamp(epoch_ms: int) -> str:
    """``yyyy-MM-dd HH:mm:ss.SSS±hhmm`` in the server's local time zone, as GWS writes it."""
    local = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S.") + f"{epoch_ms % 1000:03d}" + local.strftime("%z")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Urls:
    """Builds the absolute ``uri``s GWS puts in resources (global form, without ``/me``)."""

    def __init__(self, public_base_url: str) -> None:
        self.api = public_base_url.rstrip("/") + "/api/v2"

    def session(self, session_id: str) -> str:
        return f"{self.api}/smssessions/{session_id}"

    def user(self, user_id: str) -> str:
        return f"{self.api}/users/{user_id}"


def participant_json(participant: Participant, urls: Urls) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nickname": participant.nickname,
        "type": participant.type,
        "participantId": participant.participant_id,
        "id": participant.participant_id,
        "visibility": participant.visibility.value,
    }
    if participant.user_id is not None:
        body["uri"] = urls.user(participant.user_id)
        body["path"] = f"/users/{participant.user_id}"
    return body


def session_json(record: SessionRecord, user_id: str, urls: Urls) -> dict[str, Any]:
    """The session as ``user_id`` sees it: their own ``state`` and ``capabilities``."""
    party = record.parties.get(user_id)
    state = party.state.value if party is not None else "Completed"
    final = party is None or party.state in FINAL_STATES
    body: dict[str, Any] = {
        "id": record.id,
        "uri": urls.session(record.id),
        "path": f"/smssessions/{record.id}",
        "state": state,
        "capabilities": [] if final else capabilities_for(record, user_id),
        "participants": [] if final else [participant_json(p, urls) for p in record.participants],
        "userData": record.user_data,
        "receivedDate": gws_timestamp(record.received_ms),
        "chatType": record.chat_type,
    }
    if party is not None and party.state is PartyState.INVITED:
        # **Extensions** for a desktop's offer banner: when the offer is revoked unless accepted
        # (epoch ms, for a countdown), why it is offered, and by which agent.
        if party.deadline_ms is not None:
            body["offerDeadline"] = party.deadline_ms
        if party.offer is not None:
            body["offerKind"] = party.offer.value
        if party.offered_by is not None:
            body["offeredBy"] = f"/users/{party.offered_by}"
    return body


def message_json(message: Message, urls: Urls) -> dict[str, Any]:
    body: dict[str, Any] = {
        "index": message.index,
        "type": message.type.value,
        "from": participant_json(message.sender, urls),
        "visibility": message.visibility.value,
        "timestamp": gws_timestamp(message.timestamp_ms),
        "timestampSeconds": message.timestamp_ms,
    }
    if message.text is not None:
        body["text"] = message.text
    if message.url is not None:
        body["url"] = message.url
    if message.notice_text is not None:
        body["noticeText"] = message.notice_text
    return body


def channel_json(channel: str, state: str) -> dict[str, Any]:
    ready = state == "Ready"
    return {
        "channel": channel,
        "dndState": "Off",
        "userState": {
            "id": SYSTEM_READY_ID if ready else SYSTEM_NOT_READY_ID,
            "displayName": "Ready" if ready else "Not Ready",
            "state": "Ready" if ready else "NotReady",
        },
    }


def delivery_json(
    status: str, *, encoding: str, segments: int, attempts: int, error_code: str | None, reason: str | None
) -> dict[str, Any]:
    """**Extension**: the delivery of an agent's message to the handset (GWS clients ignore it)."""
    return {
        "status": status,
        "encoding": encoding,
        "segments": segments,
        "attempts": attempts,
        "errorCode": error_code,
        "reason": reason,
    }
