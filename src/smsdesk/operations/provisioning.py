"""Service numbers declared in the settings file (``[[service_numbers]]``): checked, then applied to
the database before a node serves, all or none."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from smsdesk.operations.ports import ServiceNumber
from smsdesk.operations.services import Services


class ConfiguredNumber(Protocol):
    """One declared number: SMS to ``number`` go to ``queue`` of contact center ``tenant`` (its id or
    name), and replies leave through the connector named ``connector``."""

    @property
    def number(self) -> str: ...
    @property
    def queue(self) -> str: ...
    @property
    def connector(self) -> str: ...
    @property
    def tenant(self) -> str: ...


class ServiceNumberConfigError(Exception):
    """The declared service numbers cannot be applied to this database; the message says why."""


def unknown_connectors(entries: Collection[ConfiguredNumber], connectors: Collection[str]) -> list[str]:
    """What can be checked without the database: every number names a configured connector."""
    return [
        f"service number {entry.number}: no connector named {entry.connector!r} "
        f"(configured: {', '.join(sorted(connectors)) or 'none'})"
        for entry in entries
        if entry.connector not in connectors
    ]


async def ensure_service_numbers(
    services: Services,
    entries: Collection[ConfiguredNumber],
    *,
    apply: bool,
    assume_tenants: Collection[str] = (),
) -> None:
    """Create the declared service numbers (and their queues) that are missing; all or none.

    The contact center (tenant) must exist already: creating it here would turn a typo into an
    empty contact center that silently swallows customers' SMS. A number the database already
    routes differently is refused too, since there is no update path yet and the database would
    otherwise win unseen. ``apply=False`` only checks (``assume_tenants`` are about to be created).
    """
    problems: list[str] = []
    missing: list[ServiceNumber] = []
    async with services.work() as work:
        tx = work.tx
        for entry in entries:
            tenant_id = await tx.tenants.by_name(entry.tenant)
            if tenant_id is None and entry.tenant in assume_tenants:
                tenant_id = entry.tenant
            if tenant_id is None:
                problems.append(
                    f"service number {entry.number}: contact center (tenant) {entry.tenant!r} does not "
                    "exist; create it with `smsdesk users add NAME --tenant "
                    f"{entry.tenant} --queue {entry.queue}`"
                )
                continue
            wanted = ServiceNumber(tenant_id, entry.number, entry.queue, entry.connector)
            existing = await tx.service_numbers.get(entry.number)
            if existing is not None and existing != wanted:
                problems.append(
                    f"service number {entry.number}: the database already routes it to queue "
                    f"{existing.queue!r} of {existing.tenant_id!r} through connector {existing.connector!r}; "
                    f"the settings say queue {entry.queue!r} of {tenant_id!r} through {entry.connector!r}"
                )
                continue
            if existing is None:
                missing.append(wanted)
        # Write only when every entry is fine, so a refused start leaves the database as it was.
        if apply and not problems:
            for number in missing:
                await tx.queues.ensure(number.tenant_id, number.queue, [])
                await tx.service_numbers.ensure(number)
    if problems:
        raise ServiceNumberConfigError("invalid service_numbers:\n  " + "\n  ".join(problems))
