"""Users, memberships and invitations against the MongoDB wire server."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import pytest

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import console_auth, invitations, members, users
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.tenants.members import Role
from tests.support.tenants import make_account

CIPHER = users.totp_cipher("a-test-secret-of-at-least-32-bytes!!")
PASSWORD = "correct horse battery staple"


async def test_a_password_is_stored_as_an_argon2id_hash_and_checked(db: Database) -> None:
    user = await users.create_user(db, " Ada@Example.TEST ", name="Ada", password=PASSWORD)
    stored = await db[Collections.USERS].find_one({"_id": user["_id"]})
    assert stored is not None and stored["email"] == "ada@example.test"
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(stored)
    assert await users.verify_password(db, stored, PASSWORD)
    assert not await users.verify_password(db, stored, PASSWORD + "!")
    assert not await users.verify_password(db, stored, "")
    with pytest.raises(users.UserExists):
        await users.create_user(db, "ADA@example.test", password=PASSWORD)
    with pytest.raises(users.WeakPassword):
        await users.create_user(db, "bob@example.test", password="short")
    assert (await users.get_user_by_email(db, "ada@EXAMPLE.test")) is not None


async def test_a_totp_code_is_encrypted_at_rest_and_accepted_once(db: Database) -> None:
    secret = users.new_totp_secret()
    user = await users.create_user(
        db, "ada@example.test", password=PASSWORD, totp_secret=secret, cipher=CIPHER
    )
    stored = await users.get_user(db, user["_id"])
    assert stored is not None and secret not in str(stored)
    code = pyotp.TOTP(secret).now()
    assert await users.verify_totp(db, CIPHER, stored, code)
    # The same code again (a replay, or a second gateway racing) is refused.
    assert not await users.verify_totp(db, CIPHER, stored, code)
    assert not await users.verify_totp(db, CIPHER, stored, "12345")
    # A code from the step before the last used is refused too; the next step's works.
    later = time.time() + 30
    assert await users.verify_totp(db, CIPHER, stored, pyotp.TOTP(secret).at(later), at=later)
    # Another key cannot read it.
    with pytest.raises(ValueError):
        users.totp_cipher("another-secret-of-at-least-32-bytes!!!").decrypt(stored["totp"])
    assert users.totp_uri(secret, "ada@example.test").startswith("otpauth://totp/MailPass:")


async def test_roles_map_onto_the_keys_permissions() -> None:
    assert members.permissions_of("owner") == frozenset(Permission)
    assert Permission.MEMBERS in members.permissions_of("admin")
    developer = members.permissions_of("developer")
    assert Permission.MAIL in developer and Permission.KEYS not in developer
    assert Permission.MEMBERS not in developer and Permission.PROVIDERS not in developer
    assert members.permissions_of("viewer") == {Permission.CONSOLE}
    assert members.permissions_of("root") == frozenset()
    assert members.may_assign("owner", "owner") and members.may_assign("admin", "developer")
    assert not members.may_assign("admin", "owner") and not members.may_assign(
        "developer", "viewer"
    )


async def test_an_account_never_loses_its_last_owner(db: Database) -> None:
    account = await make_account(db, "acme")
    ada = await users.create_user(db, "ada@example.test", password=PASSWORD)
    bob = await users.create_user(db, "bob@example.test", password=PASSWORD)
    await members.add_member(db, account, ada["_id"], Role.OWNER)
    await members.add_member(db, account, bob["_id"], Role.VIEWER)
    with pytest.raises(members.LastOwner):
        await members.change_role(db, account, ada["_id"], Role.ADMIN)
    with pytest.raises(members.LastOwner):
        await members.remove_member(db, account, ada["_id"])
    assert (await members.get_member(db, account, ada["_id"]) or {})["role"] == "owner"
    # With a second owner, the first may step down and then leave.
    await members.change_role(db, account, bob["_id"], Role.OWNER)
    assert (await members.change_role(db, account, ada["_id"], Role.VIEWER) or {})[
        "role"
    ] == "viewer"
    assert await members.remove_member(db, account, ada["_id"]) is not None
    assert await members.remove_member(db, account, ada["_id"]) is None
    assert [m["user_id"] for m in await members.list_members(db, account)] == [bob["_id"]]
    assert await members.change_role(db, account, "usr_none", Role.ADMIN) is None


async def test_a_user_may_be_in_several_accounts(db: Database) -> None:
    acme, globex = await make_account(db, "acme"), await make_account(db, "globex")
    ada = await users.create_user(db, "ada@example.test", password=PASSWORD)
    await members.add_member(db, acme, ada["_id"], Role.OWNER)
    await members.add_member(db, globex, ada["_id"], Role.DEVELOPER)
    found = {m["account_id"]: m["role"] for m in await members.memberships(db, ada["_id"])}
    assert found == {acme: "owner", globex: "developer"}


async def test_an_invitation_is_stored_hashed_used_once_and_expires(db: Database) -> None:
    account = await make_account(db, "acme")
    invitation = await invitations.create_invitation(
        db, account_id=account, email="Bob@Example.test", role="developer", invited_by="usr_x"
    )
    assert invitation.path == f"/console/invitations/{invitation.token}"
    assert invitation.email == "bob@example.test"
    raw = await db[Collections.INVITATIONS].find_one({"id": invitation.id})
    assert raw is not None and invitation.token not in str(raw)
    listed = await invitations.list_invitations(db, account)
    assert [invitations.invitation_view(d)["email"] for d in listed] == ["bob@example.test"]
    assert (await invitations.peek_invitation(db, invitation.token) or {})["role"] == "developer"
    spent = await invitations.spend_invitation(db, invitation.token)
    assert spent is not None and spent["account_id"] == account
    assert await invitations.spend_invitation(db, invitation.token) is None

    # Inviting again replaces the pending invitation; an expired one opens nothing.
    first = await invitations.create_invitation(
        db, account_id=account, email="carol@example.test", role="viewer", invited_by="usr_x"
    )
    second = await invitations.create_invitation(
        db, account_id=account, email="carol@example.test", role="admin", invited_by="usr_x"
    )
    assert await invitations.peek_invitation(db, first.token) is None
    assert (await invitations.peek_invitation(db, second.token) or {})["role"] == "admin"
    old = await invitations.create_invitation(
        db,
        account_id=account,
        email="dan@example.test",
        role="viewer",
        invited_by="usr_x",
        lifetime=timedelta(seconds=-1),
    )
    assert await invitations.spend_invitation(db, old.token) is None
    assert await invitations.revoke_invitation(db, account, second.id)
    assert not await invitations.revoke_invitation(db, account, second.id)
    with pytest.raises(ValueError):
        await invitations.create_invitation(
            db, account_id=account, email="eve@example.test", role="root", invited_by="usr_x"
        )


async def test_a_users_sessions_end_together(db: Database) -> None:
    acme, globex = await make_account(db, "acme"), await make_account(db, "globex")
    ada = await users.create_user(db, "ada@example.test", password=PASSWORD)
    opened = []
    for account in (acme, globex):
        opened.append(
            await console_auth.open_session(
                db,
                account_id=account,
                account_name=account,
                permissions=members.permissions_of("owner"),
                test=False,
                via="password",
                lifetime=timedelta(hours=1),
                user=ada,
                role="owner",
            )
        )
    session = await console_auth.find_session(db, opened[0].token)
    assert session is not None and session.user_id == ada["_id"] and session.role == "owner"
    assert await console_auth.end_user_sessions(db, ada["_id"], acme) == 1
    assert await console_auth.find_session(db, opened[0].token) is None
    assert await console_auth.find_session(db, opened[1].token) is not None
    assert await console_auth.end_user_sessions(db, ada["_id"]) == 1


async def test_totp_secrets_are_reencrypted_under_a_new_key(db: Database) -> None:
    old, new = "an-old-secret-key-of-at-least-32-bytes", "a-new-secret-key-of-at-least-32-bytes!"
    secret = users.new_totp_secret()
    ada = await users.create_user(
        db, "ada@example.test", totp_secret=secret, cipher=users.totp_cipher(old)
    )
    await users.create_user(
        db, "bob@example.test", totp_secret=secret, cipher=users.totp_cipher("x" * 40)
    )
    await users.create_user(db, "carol@example.test")  # no TOTP (an identity provider's user)
    rotating = users.totp_cipher(new, (old,))
    report = await users.reencrypt_totp(db, rotating)
    assert (report.reencrypted, report.already_current) == (1, 0)
    assert report.undecryptable == ["bob@example.test"]
    again = await users.reencrypt_totp(db, rotating)
    assert (again.reencrypted, again.already_current) == (0, 1)
    stored = await users.get_user(db, ada["_id"])
    assert stored is not None
    assert users.totp_cipher(new).decrypt(stored["totp"]) == {"secret": secret}
