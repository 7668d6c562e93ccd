#!/usr/bin/env bash
# Installs what faaslab needs, saying what it does: OS packages when missing, then a
# virtualenv in .venv with faaslab and its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# OS packages: the sqlite3 CLI (tutorial part 1); the database engines behind serverless
# clusters and their clients (parts 4-6); e2fsprogs for functions' on-disk /tmp images
# (mkfs.ext4, debugfs); curl, which the tests run as another user (and the custom-runtime
# tests' shell bootstrap); npm, which builds a package.json as `sam build` does
# (faaslab build, and up); node for nodejs20.x/22.x functions (Debian's nodejs when the
# machine has none; faaslab warns when its major differs from the function's Runtime);
# gcc for the custom-runtime tests' compiled bootstrap. faaslab starts its own
# engine processes on ports it picks; the packages' own system services (if apt starts
# them) are left alone.
# Java functions: a JDK (javac builds faaslab's Java runtime and the tutorial's Java
# functions), Debian's Jackson (events and results as JSON) and the tutorial's JDBC drivers
# (sqlite-jdbc with its JNI library, MariaDB Connector/J): Maven Central is not needed.
# The web console's browser tests (tests/integration/test_console.py): Debian's chromium
# and its chromedriver, driven by Selenium, headless (Playwright's own browser downloads
# are not needed).
# Each program or file faaslab uses, and the package that provides it.
have() {
  case "$1" in
    /*) compgen -G "$1" >/dev/null ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || compgen -G "/usr/lib/postgresql/*/bin/$1" >/dev/null ;;
  esac
}
missing=()
for pair in sqlite3:sqlite3 mariadbd:mariadb-server mariadb:mariadb-client \
            initdb:postgresql psql:postgresql-client mkfs.ext4:e2fsprogs debugfs:e2fsprogs \
            curl:curl npm:npm node:nodejs gcc:gcc javac:default-jdk-headless \
            /usr/share/java/jackson-databind.jar:libjackson2-databind-java \
            /usr/share/java/sqlite-jdbc.jar:libxerial-sqlite-jdbc-java \
            /usr/lib/*/jni/libsqlitejdbc.so:libxerial-sqlite-jdbc-jni \
            /usr/share/java/mariadb-java-client.jar:libmariadb-java /usr/bin/aws:awscli \
            chromium:chromium chromedriver:chromium-driver; do
  have "${pair%%:*}" || missing+=("${pair##*:}")
done
PACKAGES=(sqlite3 mariadb-server mariadb-client postgresql postgresql-client e2fsprogs curl npm
          nodejs gcc default-jdk-headless libjackson2-databind-java libxerial-sqlite-jdbc-java
          libmariadb-java awscli chromium chromium-driver)
if ((${#missing[@]})); then
  say "installing OS packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  if [[ " ${missing[*]} " == *" chromium"* ]] && ! apt-cache show chromium >/dev/null 2>&1; then
    # Ubuntu names them chromium-browser (a snap) and chromium-chromedriver
    say "no 'chromium' package here: installing Ubuntu's chromium-browser and chromium-chromedriver"
    missing=("${missing[@]/#chromium-driver/chromium-chromedriver}")
    missing=("${missing[@]/#chromium/chromium-browser}")
    missing=("${missing[@]/#chromium-browser-chromedriver/chromium-chromedriver}")
  fi
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
   ! .venv/bin/python -c 'import faaslab, httptools, boto3, awslambdaric, pymysql, psycopg' \
       2>> "$log"; then
  cat "$log" >&2
  echo "install failed (see above, or $log)" >&2
  exit 1
fi
say "building faaslab's Java runtime (javac, cached by source hash)"
.venv/bin/python -m faaslab.functions.jvm
touch .venv/.installed
say "ready: .venv/bin/faaslab --help"
