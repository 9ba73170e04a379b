#!/usr/bin/env bash
# `make run`: the whole stack in the foreground under honcho; Ctrl-C stops all of it.
# MongoDB is MONGODB_URL, or an nx-27017 wire server started here with its data in .data/.
# RabbitMQ is AMQP_URL; when nothing answers there, an installed (or apt-installed) server
# is started as one more process of the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .data
procs="gateway tracker sender scheduler mailbox"
if ! scripts/rabbitmq.sh answering; then
  scripts/rabbitmq.sh install
  procs="rabbitmq $procs"
fi
if [ -z "${MONGODB_URL:-}" ]; then
  export MONGODB_URL="mongodb://127.0.0.1:${DEV_MONGODB_PORT:-27017}/?directConnection=true"
  export DEV_MONGODB_PORT=${DEV_MONGODB_PORT:-27017}
  procs="mongo $procs"
fi
exec .venv/bin/honcho -f Procfile.dev start $procs
