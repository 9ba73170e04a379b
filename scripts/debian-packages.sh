#!/usr/bin/env bash
# Debian packages that the tests and the dev stack run for real (a DNS server, PHP, swaks...).
#   debian-packages.sh COMMAND:PACKAGE [COMMAND:PACKAGE ...]
# For each pair whose COMMAND is not on PATH (or /usr/sbin), install PACKAGE with apt when
# run as root on Debian/Ubuntu; otherwise print the command to run and exit 1.
set -euo pipefail
missing=()
for pair in "$@"; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} with apt..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
else
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
