"""What an intruder and a careful user tried against a running portal, each a test that failed
before its fix: HEAD requests, ..."""

from __future__ import annotations

from portal.accounts import FINANCE


def test_head_answers_like_get_without_a_body(portal_env, as_role):
    finance = as_role(FINANCE)
    for client, path in (
        (portal_env.client(), "/login"),
        (portal_env.client(), "/static/portal.css"),
        (portal_env.client(), "/finance"),
        (finance, "/finance"),
        (finance, "/no-such-page"),
    ):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-length") == got.headers.get("content-length"), path
        assert head.headers["x-frame-options"] == "DENY", path
        assert head.headers.get("location") == got.headers.get("location"), path
