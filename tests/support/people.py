"""Console users for the tests: a user in an account with a role, and their sign-in."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pyotp

from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.tenants import members, users
from tests.console.support import csrf_token

PASSWORD = "correct horse battery staple"


def cipher(env: dict[str, Any]) -> Any:
    settings = CommonSettings(**env)
    return users.totp_cipher(settings.secret_key.get_secret_value(), settings.previous_secrets())


class Person:
    """A user with a password and a TOTP secret; each sign-in uses a code of a later
    time step than the last (a code is accepted once)."""

    def __init__(self, doc: Document, secret: str) -> None:
        self.doc = doc
        self.secret = secret
        self._last_step = 0

    @property
    def id(self) -> str:
        return str(self.doc["_id"])

    @property
    def email(self) -> str:
        return str(self.doc["email"])

    async def next_code(self) -> str:
        """The current step's code, or the next step's when the current one was used; when
        both were, waits for the next step (the gateway takes one step of drift, so a code
        of the step before could expire while the password is being checked)."""
        now = int(time.time() // 30)
        step = max(now, self._last_step + 1)
        if step > now + 1:
            await asyncio.sleep((step - 1) * 30 - time.time() + 0.2)
        self._last_step = step
        return str(pyotp.TOTP(self.secret).at(step * 30))


async def make_person(
    db: Database, env: dict[str, Any], email: str, *memberships: tuple[str, str]
) -> Person:
    """A user with a password and TOTP, member of each (account_id, role) given."""
    secret = users.new_totp_secret()
    doc = await users.create_user(
        db,
        email,
        name=email.split("@")[0],
        password=PASSWORD,
        totp_secret=secret,
        cipher=cipher(env),
    )
    for account_id, role in memberships:
        await members.add_member(db, account_id, doc["_id"], role)
    return Person(doc, secret)


async def sign_in_as(
    client: httpx.AsyncClient, person: Person, *, password: str = PASSWORD, code: str | None = None
) -> httpx.Response:
    page = await client.get("/console/sign-in")
    return await client.post(
        "/console/sign-in/password",
        data={
            "csrf_token": csrf_token(page),
            "email": person.email,
            "password": password,
            "code": code if code is not None else await person.next_code(),
            "next": "",
        },
    )
