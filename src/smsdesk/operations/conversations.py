"""**Extension** ``Create`` on ``POST /api/v2/me/smssessions``: an agent starts an SMS conversation.

GWS 8.5 has no agent-initiated SMS session (gws-sms.md §5.19); this follows the shape that section
sketches. The session is ``chatType: "Outbound"``, owned by the agent and Chatting at once; its
first message is sent as SMS; the customer's reply joins it like any message of an open session.
"""

from __future__ import annotations

import logging
import re

from smsdesk.domain import userdata
from smsdesk.domain.errors import DomainError, ErrorKind, invalid_value
from smsdesk.domain.session import SmsSession
from smsdesk.gws import requests as rq
from smsdesk.operations import access
from smsdesk.operations.notify import publish_session_change
from smsdesk.operations.ports import User
from smsdesk.operations.services import Services, new_session_id
from smsdesk.operations.supervision import join_monitoring_supervisors

log = logging.getLogger("smsdesk.conversations")

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


async def create(services: Services, user: User, operation: rq.Create) -> tuple[int, str]:
    """Returns the request's referenceId and the new session's id."""
    access.require_agent(user)
    phone = operation.phoneNumber.strip()
    if not E164.match(phone):
        raise invalid_value(f"Invalid value for parameter phoneNumber: {phone} (E.164, e.g. +15551230000)")
    if not operation.text:
        raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: text")
    if len(operation.text) > services.settings.max_text_length:
        raise invalid_value(f"text is longer than {services.settings.max_text_length} characters")
    extra = (
        userdata.validate_user_data(operation.userData, services.settings.user_data_limits)
        if operation.userData
        else {}
    )
    async with services.work() as work:
        tx = work.tx
        number = await access.service_number_for_agent(tx, user, operation.serviceNumber)
        opted_out = await tx.consent.opted_out(number.number, phone)
        existing = await tx.sessions.open_for(user.tenant_id, number.number, phone)
        if existing is not None and not opted_out:
            raise DomainError(
                ErrorKind.IN_USE,
                f"{phone} already has an open SMS session with {number.number}: {existing.id}",
            )
        ctx = services.domain_context()
        user_data: userdata.UserData = {
            "ServiceNumber": number.number,
            "CustomerNumber": phone,
            "RTenant": number.tenant_id,
            "MediaType": "smssession",
            "Origination": "agent",
        }
        session = SmsSession.open_outbound(
            ctx,
            session_id=new_session_id(),
            tenant_id=user.tenant_id,
            queue=number.queue,
            service_number=number.number,
            customer_number=phone,
            agent_id=user.id,
            nickname=operation.nickname or user.first_name or user.user_name,
            text=operation.text,
            user_data=userdata.update(user_data, extra, services.settings.user_data_limits),
            customer_reachable=not opted_out,
        )
        await join_monitoring_supervisors(tx, session, user.id, ctx)
        reference_id = await tx.reference_ids.next()
        await publish_session_change(services, work, session, requester=user.id, reference_id=reference_id)
    log.info(
        "%s started SMS session %s with %s from %s", user.user_name, session.record.id, phone, number.number
    )
    return reference_id, session.record.id
