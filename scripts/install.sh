#!/usr/bin/env bash
# Installs what faaslab needs, saying what it does: OS packages when missing, then a
# virtualenv in .venv with faaslab and its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# OS packages: the sqlite3 CLI (tutorial part 1). Database engines join with later parts.
PACKAGES=(sqlite3)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing OS packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
else
  say "OS packages present: ${PACKAGES[*]}"
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "faaslab needs Python >= 3.11; $PYTHON is $("$PYTHON" --version 2>&1)." >&2
  echo "Set PYTHON=/path/to/python3.11 and run again." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "creating virtualenv .venv ($("$PYTHON" --version))"
  "$PYTHON" -m venv .venv
fi
say "installing faaslab and its test tools into .venv (pip's output: .venv/install.log)"
log=.venv/install.log
if ! { .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip &&
       .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'; } > "$log" 2>&1 ||
   ! .venv/bin/python -c 'import faaslab, httptools, boto3, awslambdaric' 2>> "$log"; then
  cat "$log" >&2
  echo "install failed (see above, or $log)" >&2
  exit 1
fi
touch .venv/.installed
say "ready: .venv/bin/faaslab --help"
