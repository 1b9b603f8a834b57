"""JSON representations of GWS resources: the SMS session, participants, message-log entries, users."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from smsdesk.domain.capabilities import capabilities_for
from smsdesk.domain.model import (
    FINAL_STATES,
    Message,
    Participant,
    PartyState,
    Phase,
    SessionRecord,
    SupervisionMode,
    visible_to,
)
from smsdesk.domain.opening_hours import OpeningHours
from smsdesk.domain.statistics import AgentStatistics, QueueStatistics

SYSTEM_READY_ID = "9430250E-0A1B-421F-B372-F29E69366DED"
SYSTEM_NOT_READY_ID = "900D55CC-2BB0-431F-8BF9-D3525B383BE6"


@lru_cache(maxsize=8192)
def gws_timestamp(epoch_ms: int) -> str:
    """``yyyy-MM-dd HH:mm:ss.SSS±hhmm`` in the server's local time zone, as GWS writes it."""
    local = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S.") + f"{epoch_ms % 1000:03d}" + local.strftime("%z")


class Urls:
    """Builds the absolute ``uri``s GWS puts in resources (global form, without ``/me``)."""

    def __init__(self, public_base_url: str) -> None:
        self.api = public_base_url.rstrip("/") + "/api/v2"

    def session(self, session_id: str) -> str:
        return f"{self.api}/smssessions/{session_id}"

    def user(self, user_id: str) -> str:
        return f"{self.api}/users/{user_id}"

    def standard_response(self, response_id: str) -> str:
        return f"{self.api}/standard-responses/{response_id}"

    def queue(self, name: str) -> str:
        return f"{self.api}/queues/{quote(name, safe='')}"


def iso_utc(epoch_ms: int) -> str:
    """ISO 8601 in UTC with milliseconds, ``2026-12-07T09:30:00.000Z`` (the extensions' dates)."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


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
        "participants": []
        if final
        else [participant_json(p, urls) for p in record.participants if visible_to(p.visibility, party)],
        "userData": record.user_data,
        "userDataVersion": record.user_data_version,
        "receivedDate": gws_timestamp(record.received_ms),
        "chatType": record.chat_type,
    }
    if record.comment is not None:
        body["comment"] = record.comment
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
    if message.auto_reply is not None:
        body["autoReply"] = message.auto_reply  # extension: "closed" or "waiting"
    return body


def channel_json(channel: str, state: str, reason: str | None = None) -> dict[str, Any]:
    ready = state == "Ready"
    user_state: dict[str, Any] = {
        "id": SYSTEM_READY_ID if ready else SYSTEM_NOT_READY_ID,
        "displayName": "Ready" if ready else "Not Ready",
        "state": "Ready" if ready else "NotReady",
    }
    if reason is not None:
        # Additive (docs/gws-compatibility.md): why the server, not the agent, set this state.
        user_state["reason"] = reason
    return {"channel": channel, "dndState": "Off", "userState": user_state}


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


def user_data_audit_entry_json(
    version: int,
    key: str,
    operation: str,
    user: tuple[str, str] | None,
    old_value: str | None,
    new_value: str | None,
    changed_ms: int,
    urls: Urls,
) -> dict[str, Any]:
    """**Extension**: one userData key change. ``user`` is (id, userName); values are JSON text,
    None when the key was absent (null is never a userData value, so it cannot be confused)."""
    return {
        "version": version,
        "key": key,
        "operation": operation,
        "user": None
        if user is None
        else {"id": user[0], "userName": user[1], "uri": urls.user(user[0]), "path": f"/users/{user[0]}"},
        "oldValue": None if old_value is None else json.loads(old_value),
        "newValue": None if new_value is None else json.loads(new_value),
        "timestamp": gws_timestamp(changed_ms),
        "timestampMs": changed_ms,
    }


def supervised_session_json(record: SessionRecord, urls: Urls) -> dict[str, Any]:
    """**Extension**: a session an agent is chatting in, as a supervisor choosing where to intrude
    sees it (not the agent's view: no capabilities, no messages)."""
    return {
        "id": record.id,
        "uri": urls.session(record.id),
        "path": f"/smssessions/{record.id}",
        "queue": record.queue,
        "customerNumber": record.customer_number,
        "receivedDate": gws_timestamp(record.received_ms),
    }


def monitoring_json(agent_id: str, mode: SupervisionMode, next_chat_only: bool, urls: Urls) -> dict[str, Any]:
    """**Extension**: one of the supervisor's active monitorings, in the words of the request that
    started it (operationName and supervisorMonitoringMode)."""
    return {
        "agentId": agent_id,
        "agentUri": urls.user(agent_id),
        "mode": mode.value,
        "supervisorMonitoringMode": "NextChat" if next_chat_only else "AllChats",
    }


def statistics_json(
    queue: QueueStatistics, agents: list[AgentStatistics], since_ms: int, urls: Urls
) -> dict[str, Any]:
    """**Extension**: one queue's live numbers (counters since ``since_ms``, today) and its agents'."""
    return {
        "queue": queue.queue,
        "since": gws_timestamp(since_ms),
        "sinceMs": since_ms,
        "waiting": queue.waiting,
        "longestWaitMs": queue.longest_wait_ms,
        "entered": queue.entered,
        "offered": queue.offered,
        "accepted": queue.accepted,
        "rejected": queue.rejected,
        "revoked": queue.revoked,
        "abandoned": queue.abandoned,
        "completed": queue.completed,
        "averageTimeToAcceptMs": queue.average_time_to_accept_ms,
        "averageHandleTimeMs": queue.average_handle_time_ms,
        "serviceLevel": queue.service_level,
        "serviceLevelThresholdMs": queue.service_level_threshold_ms,
        "closedReplies": queue.closed_replies,
        "waitingReplies": queue.waiting_replies,
        "agents": [
            {
                "id": agent.user_id,
                "userName": agent.user_name,
                "uri": urls.user(agent.user_id),
                "state": agent.state,
                "timeInStateMs": agent.time_in_state_ms,
                "liveSessions": agent.live_sessions,
                "handledToday": agent.handled_today,
            }
            for agent in agents
        ],
    }


_HISTORY_STATE = {Phase.WAITING: "Waiting", Phase.ACTIVE: "Chatting", Phase.DONE: "Completed"}


def history_entry_json(
    record: SessionRecord, messages: list[Message], agents: list[str], urls: Urls
) -> dict[str, Any]:
    """**Extension**: one earlier session of a customer, with the transcript the reader may see."""
    completed = record.completed_ms
    if completed is None and record.phase is Phase.DONE and messages:
        completed = messages[-1].timestamp_ms  # ended before the end was recorded: its last entry
    disposition = record.user_data.get("DispositionCode")
    return {
        "id": record.id,
        "uri": urls.session(record.id),
        "path": f"/smssessions/{record.id}",
        "state": _HISTORY_STATE[record.phase],
        "receivedAt": iso_utc(record.received_ms),
        "completedAt": None if completed is None else iso_utc(completed),
        "disposition": disposition if isinstance(disposition, str) else None,
        "agents": agents,
        "queue": record.queue,
        "serviceNumber": record.service_number,
        "chatType": record.chat_type,
        "userData": record.user_data,
        "messages": [message_json(m, urls) for m in messages],
    }


def standard_response_json(
    response_id: str, name: str, category: str, text: str, updated_ms: int, urls: Urls
) -> dict[str, Any]:
    """**Extension**: a standard response (its text with the placeholders unfilled)."""
    return {
        "id": response_id,
        "name": name,
        "category": category,
        "text": text,
        "updatedAt": iso_utc(updated_ms),
        "uri": urls.standard_response(response_id),
        "path": f"/standard-responses/{response_id}",
    }


def queue_json(
    name: str,
    hours: OpeningHours | None,
    when_closed: str,
    closed_reply: str | None,
    waiting_reply: str | None,
    waiting_after_s: int | None,
    now_ms: int,
    urls: Urls,
) -> dict[str, Any]:
    """**Extension**: a queue's opening hours and automatic replies, and whether it is open now."""
    is_open = hours is None or hours.is_open(now_ms)
    opens = None if is_open or hours is None else hours.next_opening_ms(now_ms)
    return {
        "name": name,
        "uri": urls.queue(name),
        "path": f"/queues/{quote(name, safe='')}",
        "openingHours": None
        if hours is None
        else {
            "timezone": hours.timezone,
            "weekly": hours.weekly,
            "closedDates": sorted(d.isoformat() for d in hours.closed_dates),
            "whenClosed": when_closed,
        },
        "automaticReplies": {
            "closed": closed_reply,
            "waiting": waiting_reply,
            "waitingAfterSeconds": waiting_after_s,
        },
        "open": is_open,
        "opensAt": None if opens is None else iso_utc(opens),
    }
