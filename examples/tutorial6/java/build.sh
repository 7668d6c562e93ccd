#!/usr/bin/env bash
# Builds the tutorial's Java functions into Lambda's zip layout (classes at the root, the
# JDBC driver in lib/), as the tutorial's Maven build makes its jar:
#   build/hello-sqlite.zip   helloSqliteJava, helloSqliteMemoryJava  (+ lib/sqlite-jdbc.jar)
#   build/hello-mysql.zip    helloMySQLJava  (+ lib/mariadb-java-client.jar, db.properties)
# javac compiles against faaslab's own com.amazonaws.services.lambda.runtime interfaces
# (API-compatible with aws-lambda-java-core); the drivers are Debian's
# (libxerial-sqlite-jdbc-java, libmariadb-java). `make` runs this when a source changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
core="$here/../../../faaslab/functions/java/src"
out="$here/build"
for jar in /usr/share/java/sqlite-jdbc.jar /usr/share/java/mariadb-java-client.jar; do
  [ -f "$jar" ] || { echo "missing $jar: run make install" >&2; exit 1; }
done
rm -rf "$out/classes" "$out/stage"
mkdir -p "$out/classes"
javac --release 17 -nowarn -implicit:none -sourcepath "$core" -d "$out/classes" \
  $(find "$here/src" -name '*.java' | sort)

package() {  # package NAME DRIVER-JAR [EXTRA-FILE...]
  local name=$1 driver=$2 stage="$out/stage/$1"; shift 2
  mkdir -p "$stage/lib"
  cp -r "$out/classes/." "$stage/"
  cp "$(readlink -f "$driver")" "$stage/lib/$(basename "$driver")"
  for f in "$@"; do cp "$f" "$stage/"; done
  rm -f "$out/$name.zip"
  (cd "$stage" && jar --create --no-manifest --file "$out/$name.zip" .)
}
package hello-sqlite /usr/share/java/sqlite-jdbc.jar
package hello-mysql /usr/share/java/mariadb-java-client.jar "$here/db.properties"
rm -rf "$out/stage"
echo "built $out/hello-sqlite.zip $out/hello-mysql.zip"
