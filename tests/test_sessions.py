"""Console sessions end on the server: a cookie copied before sign-out is worth
nothing after it (pages and CSRF-protected forms alike), and rotating a
creator's API key ends every session that creator holds. The language cookie,
like the session's, is Secure when the console is served over https."""

from __future__ import annotations

from typing import Any

from redirector import create_app, sessions
from redirector.config import Settings
from redirector.extension import context_of

from .conftest import ADMIN_TOKEN, Api
from .test_console import csrf_token, sign_in

COOKIE = "rd_console"


def copy_of(app: Any, client: Any) -> Any:
    """Another browser holding a copy of ``client``'s console cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def session_id(app: Any, client: Any) -> str:
    """The server-side session id the signed cookie carries."""
    serializer = app.session_interface.get_signing_serializer(app)
    return str(serializer.loads(client.get_cookie(COOKIE).value)["sid"])


def goes_to_sign_in(response: Any) -> bool:
    return response.status_code == 302 and "/console/sign-in" in response.headers["Location"]


def test_a_creator_cookie_copied_before_sign_out_opens_nothing_after(
    app: Any, client: Any, world: dict, api: Api
) -> None:
    sign_in(client, world["bob"])
    thief = copy_of(app, client)
    assert thief.get("/console/me").status_code == 200  # the copy works while the session lives
    form = {"product_id": "tea", "channel": "weibo", "csrf_token": csrf_token(thief, "/console/me")}

    client.post("/console/sign-out", data={"csrf_token": csrf_token(client, "/console/me")})

    assert goes_to_sign_in(thief.get("/console/me"))
    assert goes_to_sign_in(thief.post("/console/me/links", data=form))  # CSRF passes, no session
    assert api.ok("GET", "/api/v1/links", token=world["bob"])["links"] == []


def test_an_admin_cookie_copied_before_sign_out_opens_nothing_after(
    app: Any, client: Any, world: dict, api: Api
) -> None:
    sign_in(client, ADMIN_TOKEN)
    thief = copy_of(app, client)
    assert thief.get("/console/admin").status_code == 200
    token = csrf_token(thief, "/console/admin/statements/2026-10")

    client.post("/console/sign-out", data={"csrf_token": csrf_token(client, "/console/admin")})

    assert goes_to_sign_in(thief.get("/console/admin"))
    closing = thief.post("/console/admin/statements/2026-10/close", data={"csrf_token": token})
    assert goes_to_sign_in(closing)
    assert api.ok("GET", "/api/v1/settlements/2026-10")["status"] == "open"


def test_rotating_a_creators_key_ends_its_sessions_on_the_server(
    app: Any, world: dict, api: Api
) -> None:
    ctx = context_of(app)
    alice_here, alice_there, bob = app.test_client(), app.test_client(), app.test_client()
    sign_in(alice_here, world["alice"])
    sign_in(alice_there, world["alice"])
    sign_in(bob, world["bob"])
    alice_ids = [session_id(app, c) for c in (alice_here, alice_there)]
    alice = sessions.creator_holder("alice")
    assert all(sessions.is_live(ctx, sid, alice) for sid in alice_ids)

    api.ok("POST", "/api/v1/creators/alice/api-key")

    assert not any(sessions.is_live(ctx, sid, alice) for sid in alice_ids)
    assert goes_to_sign_in(alice_here.get("/console/me"))
    assert sessions.is_live(ctx, session_id(app, bob), sessions.creator_holder("bob"))
    assert bob.get("/console/me").status_code == 200


def test_a_session_names_its_holder_and_no_other(app: Any, client: Any, world: dict) -> None:
    ctx = context_of(app)
    sign_in(client, world["alice"])
    sid = session_id(app, client)
    assert sessions.is_live(ctx, sid, sessions.creator_holder("alice"))
    assert not sessions.is_live(ctx, sid, sessions.creator_holder("bob"))
    assert not sessions.is_live(ctx, sid, sessions.ADMIN_HOLDER)
    assert sessions.end_all(ctx, sessions.creator_holder("alice")) == 1
    assert not sessions.is_live(ctx, sid, sessions.creator_holder("alice"))


# -- the console's other cookie: its language ----------------------------------------------


def test_under_an_https_public_url_the_language_cookie_is_secure(client: Any) -> None:
    set_cookie = client.get("/console/lang/en").headers["Set-Cookie"]
    assert "rd_lang=en" in set_cookie and "Secure" in set_cookie and "HttpOnly" in set_cookie


def test_under_a_plain_http_public_url_it_is_not(store: Any, env: dict[str, str]) -> None:
    env["REDIRECTOR_PUBLIC_URL"] = "http://go.example.test"
    app = create_app(Settings.from_env(env), store=store, test_config={"TESTING": True})
    set_cookie = app.test_client().get("/console/lang/en").headers["Set-Cookie"]
    assert "rd_lang=en" in set_cookie and "Secure" not in set_cookie
