"""What the tracker's routes declare they need, defined once (``Annotated`` aliases)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mailpass_common.messages.signed_links import TrackingSigner
from mailpass_common.platform.db import Database
from mailpass_common.unsubscribe.links import UnsubscribeSigner
from mailpass_tracker.clientip import TrustedProxies
from mailpass_tracker.ingest import EventWriter


async def _writer(request: Request) -> EventWriter:
    writer: EventWriter = request.app.state.writer
    return writer


async def _signer(request: Request) -> TrackingSigner:
    signer: TrackingSigner = request.app.state.signer
    return signer


async def _proxies(request: Request) -> TrustedProxies:
    proxies: TrustedProxies = request.app.state.trusted_proxies
    return proxies


Writer = Annotated[EventWriter, Depends(_writer)]
Signer = Annotated[TrackingSigner, Depends(_signer)]
Proxies = Annotated[TrustedProxies, Depends(_proxies)]


async def _unsubscribe_signer(request: Request) -> UnsubscribeSigner:
    signer: UnsubscribeSigner = request.app.state.unsubscribe_signer
    return signer


async def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


Unsubscribes = Annotated[UnsubscribeSigner, Depends(_unsubscribe_signer)]
Db = Annotated[Database, Depends(_db)]
