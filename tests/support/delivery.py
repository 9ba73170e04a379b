"""Sending through a provider as the sender does: the MIME built once, then handed over."""

from __future__ import annotations

from mailpass_common.providers.delivery.base import DeliveryResult, OutgoingEmail, Provider
from mailpass_common.providers.delivery.mime import render


async def deliver(provider: Provider, email: OutgoingEmail) -> DeliveryResult:
    return await provider.send(email, render(email))
