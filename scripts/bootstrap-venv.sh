#!/usr/bin/env bash
# Creates the virtual environment with uv in it. On Debian/Ubuntu the venv module is a
# separate package: installed with apt when run as root, otherwise the command is shown.
set -euo pipefail
venv=${1:-.venv}
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      pyver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      apt-get update -qq
      apt-get install -y -qq "python${pyver}-venv" || apt-get install -y -qq python3-venv
      "$python" -m venv "$venv"
    else
      echo "The Python venv module is missing. Run: sudo apt-get install -y python3-venv" >&2
      exit 1
    fi
  fi
fi
[ -x "$venv/bin/uv" ] || "$venv/bin/python" -m pip install --quiet --disable-pip-version-check uv
