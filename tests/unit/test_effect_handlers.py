"""Every effect the domain can produce has its handler in ``operations/notify.py``."""

from __future__ import annotations

from typing import get_args

from smsdesk.domain.model import Effect
from smsdesk.operations.notify import EFFECT_HANDLERS


def test_every_effect_type_has_one_handler() -> None:
    assert set(EFFECT_HANDLERS) == set(get_args(Effect))
