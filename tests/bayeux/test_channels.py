import pytest

from smsdesk.bayeux import channels


@pytest.mark.parametrize(
    ("subscription", "channel", "expected"),
    [
        ("/a/b", "/a/b", True),
        ("/a/b", "/a/b/c", False),
        ("/a/*", "/a/b", True),
        ("/a/*", "/a/b/c", False),
        ("/a/*", "/a", False),
        ("/a/**", "/a/b", True),
        ("/a/**", "/a/b/c", True),
        ("/a/**", "/a", False),
        ("/a/**", "/ab/c", False),
        ("/**", "/x/y/z", True),
        ("/*", "/x", True),
        ("/*", "/x/y", False),
        ("/a/b/*", "/a/b/c", True),
    ],
)
def test_wildcard_matching(subscription: str, channel: str, expected: bool) -> None:
    assert channels.matches(subscription, channel) is expected


@pytest.mark.parametrize("name", ["/a", "/a/b", "/a/*", "/a/**", "/**", "/meta/connect"])
def test_valid_names(name: str) -> None:
    assert channels.is_valid(name)


@pytest.mark.parametrize("name", ["", "/", "a/b", "/a//b", "/a/", "/a/*/b", "/a/b*", "/**/a"])
def test_invalid_names(name: str) -> None:
    assert not channels.is_valid(name)
