"""The raw-bytes nesting measure agrees with the depth of the decoded document."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from smsdesk.jsondepth import nests_deeper_than

scalars = st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab')
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@given(documents, st.integers(min_value=0, max_value=6))
def test_agrees_with_the_decoded_depth(document: Any, limit: int) -> None:
    assert nests_deeper_than(json.dumps(document).encode(), limit) == (depth(document) > limit)


def test_brackets_inside_strings_do_not_count() -> None:
    assert not nests_deeper_than(b'{"a": "[[[[[[[[[[\\"[[[[["}', 1)
    assert nests_deeper_than(b"[" * 33, 32)
    assert not nests_deeper_than(b"[" * 32, 32)
