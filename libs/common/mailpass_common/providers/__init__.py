"""Providers: an account's delivery providers, their configuration, and delivering through them.

- ``config``            what a provider of each type needs, validated once
- ``service``           the provider documents (credentials encrypted at rest)
- ``delivery/``         the providers' clients, MIME building, the provider check
- ``limits``            hourly and daily send limits; ``circuits`` circuit breaker states
- ``event_hooks``       the public URLs where providers report bounces and complaints
- ``credential_rotation`` re-encrypting stored secrets under the current ``SECRET_KEY``
"""
