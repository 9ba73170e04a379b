"""Providers: an account's delivery providers, their configuration, and delivering through them.

- ``plugin``            what a provider type is; ``registry`` lists them; ``types/`` one
  module per type (config model, factory, API hosts, event-hook reader, console form)
- ``config``            what every provider has whatever its type
- ``service``           the provider documents (credentials encrypted at rest)
- ``delivery/``         the providers' clients, MIME building, the provider check, the pool
- ``limits``            hourly and daily send limits; ``circuits`` circuit breaker states
- ``event_hooks``       the public URLs where providers report bounces and complaints
  (``notifications``, ``sns``, ``hook_tokens``: what the types' readers share)
- ``credential_rotation`` re-encrypting stored secrets under the current ``SECRET_KEY``
"""
