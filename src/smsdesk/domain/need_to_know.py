"""What a former party of a session may still read: the session as it stood when the party left.

A party whose offer ended (rejected, revoked, withdrawn) or who left or completed keeps reading
the log up to the entry that ended its part, and the user data and comment as they were then;
what was said or written afterwards is for the people still in the conversation. The moment is
recorded on the party (:class:`Departure`); the user data of that moment is rebuilt from today's
by undoing the later changes the audit trail holds, so a session offered to fifty agents in turn
does not store fifty copies of its user data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from smsdesk.domain.model import Departure, Message, MessageType, SessionRecord
from smsdesk.domain.userdata import UserData, UserDataValue


def user_data_before(
    current: UserData, later_changes: Iterable[tuple[str, UserDataValue | None]]
) -> UserData:
    """``current`` with ``later_changes`` undone, given newest first as (key, value before the
    change; None: the key was absent)."""
    result = dict(current)
    for key, before in later_changes:
        if before is None:
            result.pop(key, None)
        else:
            result[key] = before
    return result


def comment_in(log: Iterable[Message]) -> str | None:
    """The session's comment as ``log`` leaves it: the text of its last Comment entry."""
    comment = None
    for message in log:
        if message.type is MessageType.COMMENT:
            comment = message.text
    return comment


def as_left(
    record: SessionRecord, departure: Departure, user_data: UserData, comment: str | None
) -> SessionRecord:
    """The session as a former party sees it: its log ends at ``departure.last_index`` (nothing
    after it is read), with the user data and comment of that moment."""
    return replace(
        record,
        user_data=user_data,
        user_data_version=departure.user_data_version,
        comment=comment,
        last_index=departure.last_index,
    )
