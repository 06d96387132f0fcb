"""What every portal route shares: the app's Sessions, the signed-in user, a checked POST form."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request

from roadbed.api.portal import csrf
from roadbed.api.portal.forms import MAX_FORM_BYTES, Form, read_form
from roadbed.api.portal.sessions import Sessions, SignedIn, load_secret


def mark_portal(request: Request) -> None:
    """Router dependency: errors on this request are answered as HTML pages, never JSON."""
    request.state.portal = True


async def sessions(request: Request) -> Sessions:
    found = getattr(request.app.state, "portal_sessions", None)
    if found is None:
        state = request.app.state.roadbed
        secret = await asyncio.to_thread(load_secret, state.settings.home)
        found = request.app.state.portal_sessions = Sessions(state.database, secret)
    return found


async def signed_in(request: Request) -> SignedIn:
    me = await (await sessions(request)).require(request)
    request.state.signed_in = me
    return me


async def posted(request: Request, limit: int = MAX_FORM_BYTES) -> tuple[SignedIn, Form]:
    """A POST from a signed-in page: the session first, then its CSRF token, before anything else happens."""
    me = await signed_in(request)
    form = await read_form(request, limit)
    csrf.check(me.csrf_token, csrf.presented(request, form))
    return me, form


Me = Annotated[SignedIn, Depends(signed_in)]
