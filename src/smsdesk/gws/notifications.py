"""Notification payloads (the Bayeux ``data`` object) and the topics they are published on."""

from __future__ import annotations

from typing import Any

SMS_TOPIC = "/v2/me/smssessions"
CHANNELS_TOPIC = "/v2/me/channels"
STATISTICS_TOPIC = "/v2/me/statistics"  # extension: live numbers, to supervisors

STATE_CHANGE = "SMSsessionStateChangeMessage"
MESSAGE_LOG = "MessageLogUpdated"


def session_state_change(
    notification_type: str, session: dict[str, Any], reference_id: int | None
) -> dict[str, Any]:
    data: dict[str, Any] = {"messageType": STATE_CHANGE, "notificationType": notification_type}
    if reference_id is not None:
        data["referenceId"] = reference_id
    data["smssession"] = session
    return data


def session_error(error_message: str, session: dict[str, Any], reference_id: int | None) -> dict[str, Any]:
    data = session_state_change("Error", session, reference_id)
    data["errorMessage"] = error_message
    return data


def message_log_updated(
    messages: list[dict[str, Any]], session_uri: str, session_path: str, reference_id: int | None
) -> dict[str, Any]:
    data: dict[str, Any] = {"messageType": MESSAGE_LOG, "notificationType": "NewMessages"}
    if reference_id is not None:
        data["referenceId"] = reference_id
    data["messages"] = messages
    data["smssessionUri"] = session_uri
    data["smssessionPath"] = session_path
    return data


def channel_state_change(channels: list[dict[str, Any]], reference_id: int | None) -> dict[str, Any]:
    data: dict[str, Any] = {"messageType": "ChannelStateChangeMessageV2", "channels": channels}
    if reference_id is not None:
        data["referenceId"] = reference_id
    return data


DELIVERY_UPDATED = "MessageDeliveryUpdated"


def message_delivery_updated(
    entries: list[dict[str, Any]], session_uri: str, session_path: str
) -> dict[str, Any]:
    """**Extension**: delivery status of messages already in the log, ``entries`` = ``[{index, delivery}]``.
    A messageType GWS clients do not know, so they ignore it."""
    return {
        "messageType": DELIVERY_UPDATED,
        "notificationType": "DeliveryStatus",
        "messages": entries,
        "smssessionUri": session_uri,
        "smssessionPath": session_path,
    }


STATISTICS_UPDATED = "StatisticsUpdated"


def statistics_updated(statistics: dict[str, Any]) -> dict[str, Any]:
    """**Extension**: a queue's live numbers changed (to its supervisors, on ``/v2/me/statistics``)."""
    return {"messageType": STATISTICS_UPDATED, "statistics": statistics}
