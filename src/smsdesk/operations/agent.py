"""Agent-level operations: ``POST /api/v2/me`` and ``POST /api/v2/me/channels/{channel}``."""

from __future__ import annotations

import logging

import msgspec

from smsdesk.domain.agents import SMS_CHANNEL, ChannelState, canonical_channel
from smsdesk.domain.clock import now_ms
from smsdesk.domain.errors import DomainError, ErrorKind, invalid_state
from smsdesk.domain.model import OfferKind, PartyState
from smsdesk.domain.session import SmsSession
from smsdesk.gws import notifications as payloads
from smsdesk.gws.representation import channel_json
from smsdesk.operations import access
from smsdesk.operations.notify import publish_session_change
from smsdesk.operations.ports import Notification, User
from smsdesk.operations.services import Services, Work
from smsdesk.operations.statistics import record_agent_state

log = logging.getLogger("smsdesk.agent")


async def notify_channels(
    work: Work, user: User, reference_id: int, logged_out: list[str] | None = None
) -> None:
    channels = [
        channel_json(c.channel, c.state.value, c.reason) for c in await work.tx.agents.channels(user.id)
    ]
    for name in logged_out or []:
        channels.append(
            {
                "channel": name,
                "dndState": "Off",
                "userState": {"state": "LoggedOut", "displayName": "Logged Out"},
            }
        )
    data = payloads.channel_state_change(channels, reference_id)
    work.notify(Notification(user.tenant_id, user.id, payloads.CHANNELS_TOPIC, msgspec.json.encode(data)))


async def start_contact_center_session(services: Services, user: User, channels: list[str]) -> int:
    access.require_agent(user)
    if not channels:
        raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: channels")
    names = sorted({canonical_channel(name) for name in channels})
    async with services.work() as work:
        existing = {c.channel for c in await work.tx.agents.channels(user.id)}
        for name in names:
            if name not in existing:
                await work.tx.agents.set_channel(user.tenant_id, user.id, name, ChannelState.NOT_READY)
        if SMS_CHANNEL in names and SMS_CHANNEL not in existing:
            await record_agent_state(services, work, user, ChannelState.NOT_READY.value)
        # Signing in is a sign of life: the router may offer as soon as the agent goes Ready.
        await work.tx.agents.note_presence([(user.tenant_id, user.id)], now_ms())
        reference_id = await work.tx.reference_ids.next()
        await notify_channels(work, user, reference_id)
    log.info("%s started a contact-center session on %s", user.user_name, ", ".join(names))
    return reference_id


async def end_contact_center_session(services: Services, user: User) -> int:
    """Any user may end their contact-center session: an administrator, who holds no channels,
    signs out of the administration pages with it."""
    async with services.work() as work:
        logged_out = [c.channel for c in await work.tx.agents.channels(user.id)]
        await work.tx.agents.clear_channels(user.id)
        if SMS_CHANNEL in logged_out:
            await record_agent_state(services, work, user, "LoggedOut")
        # Offers waiting for this agent go back to routing rather than wait for their timeout.
        for record in await work.tx.sessions.of_user(user.tenant_id, user.id):
            party = record.parties[user.id]
            if party.state is PartyState.INVITED and party.offer is OfferKind.ROUTE:
                session = SmsSession(record)
                session.reject(user.id)
                await publish_session_change(services, work, session)
        reference_id = await work.tx.reference_ids.next()
        await notify_channels(work, user, reference_id, logged_out)
    log.info("%s ended the contact-center session", user.user_name)
    return reference_id


async def set_state(services: Services, user: User, state: ChannelState, channel: str | None = None) -> int:
    """Ready / NotReady on one channel, or (channel None) on every channel the agent is logged in on."""
    access.require_agent(user)
    async with services.work() as work:
        logged_in = [c.channel for c in await work.tx.agents.channels(user.id)]
        if channel is None:
            targets = logged_in
            if not targets:
                raise invalid_state("No contact-center session: send StartContactCenterSession first")
        else:
            name = canonical_channel(channel)
            if name not in logged_in:
                raise invalid_state(f"Not logged in on channel {name}: send StartContactCenterSession first")
            targets = [name]
        for name in targets:
            await work.tx.agents.set_channel(user.tenant_id, user.id, name, state)
        if SMS_CHANNEL in targets:
            await record_agent_state(services, work, user, state.value)
        reference_id = await work.tx.reference_ids.next()
        await notify_channels(work, user, reference_id)
        if state is ChannelState.READY and SMS_CHANNEL in targets:
            # Going Ready is a sign of life: routing may offer at once, before this node's next
            # presence flush.
            await work.tx.agents.note_presence([(user.tenant_id, user.id)], now_ms())
            work.routing_tenants.add(user.tenant_id)
    log.info("%s is %s on %s", user.user_name, state.value, ", ".join(targets))
    return reference_id
