"""Standard responses: a contact center's prepared texts, with placeholders filled when sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StandardResponse:
    id: str
    tenant_id: str
    name: str
    category: str
    text: str
    created_ms: int
    updated_ms: int


class StandardResponses(Protocol):
    """``standard_responses``: a name is unique within its contact center. Reads lock nothing."""

    async def of_tenant(self, tenant_id: str) -> list[StandardResponse]:
        """Every response of the contact center, by category then name."""
        ...

    async def get(self, tenant_id: str, response_id: str) -> StandardResponse | None: ...
    async def by_name(self, tenant_id: str, name: str) -> StandardResponse | None: ...
    async def insert(self, response: StandardResponse) -> bool:
        """Add it; False (and nothing written) when its name is taken in its contact center."""
        ...

    async def update(self, response: StandardResponse) -> bool:
        """Replace name, category and text; False (nothing written) when the new name is another's."""
        ...

    async def delete(self, tenant_id: str, response_id: str) -> bool:
        """Whether it existed."""
        ...
