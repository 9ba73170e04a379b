#!/usr/bin/env bash
# `make run`: the whole stack in the foreground under honcho; Ctrl-C stops all of it.
# MongoDB is MONGODB_URL, or an nx-27017 wire server started here with its data in .data/.
# RabbitMQ is AMQP_URL; when nothing answers there, an installed (or apt-installed) server
# is started as one more process of the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .data
# A development machine: the development secret is accepted, and providers may reach
# loopback (the capture server on port 1025, local relays); a deployment sets none of it.
export ENVIRONMENT="${ENVIRONMENT:-development}"
export PROVIDER_ALLOWED_NETWORKS="${PROVIDER_ALLOWED_NETWORKS:-127.0.0.0/8,::1/128}"
export PROVIDER_ALLOWED_SMTP_PORTS="${PROVIDER_ALLOWED_SMTP_PORTS:-1025}"
# Webhook endpoints may be plain http here (a local receiver on loopback).
export WEBHOOK_ALLOW_HTTP="${WEBHOOK_ALLOW_HTTP:-true}"
procs="gateway tracker sender webhooks scheduler mailbox"
if ! scripts/rabbitmq.sh answering; then
  scripts/rabbitmq.sh install
  procs="rabbitmq $procs"
fi
if [ -z "${MONGODB_URL:-}" ]; then
  export MONGODB_URL="mongodb://127.0.0.1:${DEV_MONGODB_PORT:-27017}/?directConnection=true"
  export DEV_MONGODB_PORT=${DEV_MONGODB_PORT:-27017}
  # nx-27017 purges TTL indexes on every read with a scan (README): the dev stack keeps
  # messages and events unless told otherwise.
  export MESSAGE_METADATA_RETENTION_DAYS=${MESSAGE_METADATA_RETENTION_DAYS:-0}
  procs="mongo $procs"
fi
exec .venv/bin/honcho -f Procfile.dev start $procs
