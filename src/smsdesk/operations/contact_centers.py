"""Contact centers by the name an administrator types (the CLI, the settings file)."""

from __future__ import annotations

from smsdesk.domain.errors import not_found
from smsdesk.operations.services import Services


async def tenant_id_named(services: Services, tenant: str) -> str:
    """The id of the contact center named ``tenant``; not found when there is none."""
    async with services.store.transaction() as tx:
        tenant_id = await tx.tenants.by_name(tenant)
    if tenant_id is None:
        raise not_found(f"Contact center not found: {tenant}")
    return tenant_id
