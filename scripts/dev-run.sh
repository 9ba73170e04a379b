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
# The console's own mail (invitations) goes out from the dev account, to the capture mailbox.
export CONSOLE_MAIL_ACCOUNT="${CONSOLE_MAIL_ACCOUNT:-dev}"
# Webhook endpoints may be plain http here (a local receiver on loopback).
export WEBHOOK_ALLOW_HTTP="${WEBHOOK_ALLOW_HTTP:-true}"
# SMTP submission (mailpass-smtp) on 2587 (STARTTLS) and 2465 (implicit TLS), with a
# self-signed certificate made once into .data/smtp-tls (clients must not verify it here).
export SMTP_HOST="${SMTP_HOST:-127.0.0.1}"
export SMTP_SUBMISSION_PORT="${SMTP_SUBMISSION_PORT:-2587}"
export SMTP_SUBMISSIONS_PORT="${SMTP_SUBMISSIONS_PORT:-2465}"
export SMTP_TLS_CERT_FILE="${SMTP_TLS_CERT_FILE:-$PWD/.data/smtp-tls/tls.crt}"
export SMTP_TLS_KEY_FILE="${SMTP_TLS_KEY_FILE:-$PWD/.data/smtp-tls/tls.key}"
scripts/dev-smtp-cert.sh "$SMTP_TLS_CERT_FILE" "$SMTP_TLS_KEY_FILE"
# MailPass SMTP (the `mailpass` provider type) delivers to recipients' MX hosts: here the
# dev DNS server (mailpass-dev dns) makes the capture server the MX of every .test domain,
# on the capture port, and the return-path domain's MX mailpass-inbound, to which the
# capture server reports bounces (bounce@…, delay@…, complain@… recipients). Values
# already set are kept: then no dev DNS server is started when MTA_DNS_NAMESERVERS is.
export INBOUND_SMTP_PORT="${INBOUND_SMTP_PORT:-2525}"
export MTA_SMTP_PORT="${MTA_SMTP_PORT:-1025}"
export MTA_RETURN_PATH_DOMAIN="${MTA_RETURN_PATH_DOMAIN:-bounces.mailpass.test}"
export MTA_HELO_HOSTNAME="${MTA_HELO_HOSTNAME:-mta.mailpass.test}"
procs="gateway tracker sender webhooks smtp inbound scheduler mailbox"
if [ -z "${MTA_DNS_NAMESERVERS:-}" ]; then
  scripts/debian-packages.sh unbound:unbound unbound-control:unbound
  export DEV_DNS_PORT="${DEV_DNS_PORT:-1053}"
  export MTA_DNS_NAMESERVERS="127.0.0.1:$DEV_DNS_PORT"
  procs="dns $procs"
fi
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
