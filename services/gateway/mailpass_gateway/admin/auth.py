"""The admin API's own credential: a platform token, never an account's key.

The token comes from ``ADMIN_API_TOKEN`` or the file ``ADMIN_API_TOKEN_FILE`` names (a
Kubernetes Secret mounted as a file, or as an environment variable). Without one the
admin API does not exist: every ``/admin/v1`` route answers 404, as an unknown path
does. A request without the token, or with another, is 401; the comparison takes the
same time whatever the token given.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mailpass_common.audit.record import Actor, ActorType, act_as
from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.deps import Settings
from mailpass_gateway.errors import ApiError

ADMIN_ACTOR = Actor(ActorType.ADMIN, "admin-api")
_bearer = HTTPBearer(auto_error=False, description="The platform's admin token")


def _digest(value: str) -> bytes:
    # Digests of equal length: compare_digest then takes the same time for any input.
    return hashlib.sha256(value.encode()).digest()


async def require_admin(
    request: Request,
    settings: Settings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    expected = settings.admin_token()
    if expected is None:
        raise ApiError(ErrorCode.NOT_FOUND, "Not Found")
    given = credentials.credentials.strip() if credentials else ""
    if not given or not hmac.compare_digest(_digest(given), _digest(expected)):
        raise ApiError(
            ErrorCode.UNAUTHORIZED,
            "Missing or wrong admin token: send 'Authorization: Bearer <ADMIN_API_TOKEN>'",
            headers={"WWW-Authenticate": 'Bearer realm="mailpass-admin"'},
        )
    act_as(ADMIN_ACTOR)
    return ADMIN_ACTOR


Admin = Annotated[Actor, Depends(require_admin)]
