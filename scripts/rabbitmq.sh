#!/usr/bin/env bash
# RabbitMQ for the dev stack and the tests, at AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/).
#   answering       exit 0 when something accepts connections there
#   install         make sure rabbitmq-server is installed (apt when root on Debian/Ubuntu)
#   ensure-running  start an installed (or freshly installed) server detached, and wait for it
set -euo pipefail
url=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}
# Several nodes (amqp://u:p@h1:5672,h2:5673/vhost): the first one is the one checked here.
hostport=${url#*://}; hostport=${hostport#*@}; hostport=${hostport%%/*}; hostport=${hostport%%,*}
host=${hostport%%:*}; port=${hostport##*:}; [ "$port" = "$hostport" ] && port=5672

answering() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

install() {
  command -v rabbitmq-server >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing RabbitMQ with apt..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >&2
  else
    echo "RabbitMQ does not answer at $host:$port and is not installed." >&2
    echo "Run: sudo apt-get install -y rabbitmq-server && sudo rabbitmq-server -detached" >&2
    exit 1
  fi
}

wait_until_answering() {
  for _ in $(seq 1 120); do answering && return 0; sleep 0.5; done
  echo "RabbitMQ did not start answering at $host:$port within 60s" >&2
  exit 1
}

case "${1:-}" in
  answering) answering ;;
  install) install ;;
  ensure-running)
    answering && exit 0
    install
    echo "Starting RabbitMQ (rabbitmq-server -detached)..." >&2
    rabbitmq-server -detached
    wait_until_answering ;;
  *) echo "usage: $0 answering|install|ensure-running" >&2; exit 2 ;;
esac
