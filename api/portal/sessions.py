"""Portal sessions: a signed cookie holding a server-side session id, and the CSRF token bound to it.

The signing secret is made on first start and kept in the data dir (`$ROADBED_HOME/portal-secret`, 0600), never
a constant. The cookie `roadbed_session` carries only the signed session id (no token): the session row names the
API token, so a page acts with exactly that token's role and teams, and logging out or revoking the token ends it.
Before sign-in, the login form's CSRF token is bound to a signed pre-session cookie (`roadbed_login`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from roadbed.auth import Principal, Role, authenticate
from roadbed.private_files import create_private_file, private_dir
from roadbed.storage import portal
from roadbed.storage.database import Database

SESSION_COOKIE = "roadbed_session"
LOGIN_COOKIE = "roadbed_login"
SESSION_MAX_AGE = timedelta(hours=12)
LOGIN_MAX_AGE = timedelta(hours=1)
SECRET_FILE = "portal-secret"


def load_secret(home: Path) -> str:
    """The signing secret: created once (0600 from its first byte), then read back on every start."""
    path = private_dir(home) / SECRET_FILE
    if create_private_file(path):
        path.write_text(secrets.token_urlsafe(48))
    secret = path.read_text().strip()
    if len(secret) < 32:  # an empty file left by a crash between create and write: make it again
        path.write_text(secrets.token_urlsafe(48))
        secret = path.read_text().strip()
    return secret


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    session_id: str
    csrf_token: str
    description: str | None = None


class SignInRequired(Exception):
    """No valid session: the page handler answers with a redirect to /login?next=<path>."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Sessions:
    def __init__(self, database: Database, secret: str) -> None:
        self.database = database
        self.secret = secret
        self.serializer = URLSafeTimedSerializer(secret, salt="roadbed-portal-session")
        self.login_serializer = URLSafeTimedSerializer(secret, salt="roadbed-portal-login")

    # -- signed cookies ------------------------------------------------------------------------------------------
    def session_id_of(self, request: Request) -> str | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            value = self.serializer.loads(raw, max_age=int(SESSION_MAX_AGE.total_seconds()))
        except BadSignature:  # tampered, expired or signed by another data dir's secret: signed out
            return None
        return value if isinstance(value, str) else None

    def current(self, request: Request) -> SignedIn | None:
        session_id = self.session_id_of(request)
        if session_id is None:
            return None
        with self.database.transaction() as session:
            found = portal.live_session(session, session_id, datetime.now(UTC) - SESSION_MAX_AGE)
            if found is None:
                return None
            row, token = found
            principal = Principal(token_id=token.id, role=Role(token.role), teams=tuple(token.teams))
            return SignedIn(principal, session_id, row.csrf_token, token.description)

    async def require(self, request: Request) -> SignedIn:
        signed_in = await asyncio.to_thread(self.current, request)
        if signed_in is None:
            raise SignInRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        request.state.principal = signed_in.principal  # the audit trail names the token, as for the API
        return signed_in

    def sign_in(self, token: str) -> tuple[Principal, str] | None:
        """Check an API token exactly as the API does; open a session for it. (principal, signed cookie value)."""
        principal = authenticate(self.database, token)
        if principal is None:
            return None
        with self.database.transaction() as session:
            session_id, _csrf = portal.open_session(session, principal.token_id, datetime.now(UTC))
        return principal, self.serializer.dumps(session_id)

    def sign_out(self, session_id: str) -> None:
        with self.database.transaction() as session:
            portal.end_session(session, session_id, datetime.now(UTC))

    # -- the login form's pre-session CSRF ------------------------------------------------------------------------
    def login_nonce(self, request: Request) -> str | None:
        raw = request.cookies.get(LOGIN_COOKIE)
        if not raw:
            return None
        try:
            value = self.login_serializer.loads(raw, max_age=int(LOGIN_MAX_AGE.total_seconds()))
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def new_login_cookie(self) -> tuple[str, str]:
        """(nonce, signed cookie value)."""
        nonce = secrets.token_urlsafe(24)
        return nonce, self.login_serializer.dumps(nonce)

    def login_csrf(self, nonce: str) -> str:
        return hmac.new(self.secret.encode(), b"login-csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: timedelta) -> None:
    response.set_cookie(
        name, value, max_age=int(max_age.total_seconds()), path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def safe_next(value: str | None) -> str:
    """Only a same-site relative path: never `//host`, `/\\host`, a scheme or a way back to the login page."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or any(c in value for c in "\r\n\t\\"):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(("/login", "/logout")):
        return "/"
    return value


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(safe_next(next_path), safe="/")
