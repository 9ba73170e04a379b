#!/usr/bin/env bash
# What the client SDKs' tests (tests/sdks) need besides Python: PHP (php-cli with curl,
# phpunit) and Node (node 18+, npm) from Debian, the TypeScript SDK's npm packages from its
# lock file, and its build (tsc).
#   ensure   install what is missing (apt when root on Debian/Ubuntu), npm ci, build
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ts="$root/sdks/typescript"

missing() {
  local wanted=()
  if ! command -v php >/dev/null || ! php -r 'exit(extension_loaded("curl") ? 0 : 1);'; then
    wanted+=(php-cli php-curl php-mbstring php-xml)
  fi
  command -v phpunit >/dev/null || wanted+=(phpunit)
  command -v node >/dev/null || wanted+=(nodejs)
  command -v npm >/dev/null || wanted+=(npm)
  echo "${wanted[@]:-}"
}

install_debian() {
  local wanted
  wanted="$(missing)"
  [ -z "$wanted" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing for the SDK tests with apt: $wanted" >&2
    # shellcheck disable=SC2086
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $wanted >&2
  else
    echo "The SDK tests need: $wanted. Run: sudo apt-get install -y $wanted" >&2
    exit 1
  fi
}

build_typescript() {
  # npm ci when the installed packages are older than the lock file (or absent).
  if [ ! -d "$ts/node_modules" ] || [ "$ts/package-lock.json" -nt "$ts/node_modules/.package-lock.json" ]; then
    (cd "$ts" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  (cd "$ts" && ./node_modules/.bin/tsc -p tsconfig.json)
}

case "${1:-}" in
  ensure) install_debian; build_typescript ;;
  *) echo "usage: $0 ensure" >&2; exit 2 ;;
esac
