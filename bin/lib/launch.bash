# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the launchers in bin/ (sourced, not run): rebuild an executable jar when it is stale, choose the java,
# and say what is about to run. A launcher sets these before sourcing this file:
#   root     the repository root
#   tool     its own name, for messages (vless-server, ...)
#   module   the Maven module that builds the jar (reference-server, ...)
#   sources  the modules whose src/ goes into the jar: the module itself and the modules it depends on

# ensure_built JAR...: builds $module and the modules it needs (./mvnw package, tests skipped) when a JAR is missing,
# or when a file under the sources' src/ or any pom.xml is newer than it. Maven's own progress is shown, on stderr,
# so that a first build on a cold ~/.m2 is visibly alive.
ensure_built() {
    local jar reason="" paths=() newer=() m
    for m in "${sources[@]}"; do paths+=("$root/$m/src"); done
    paths+=("$root/pom.xml" "$root"/*/pom.xml)
    for jar in "$@"; do
        if [[ ! -f "$jar" ]]; then
            reason="${jar#"$root"/} is missing"
            break
        fi
        mapfile -t newer < <(find "${paths[@]}" -type f -newer "$jar" 2>/dev/null)
        if ((${#newer[@]})); then
            reason="${newer[0]#"$root"/} is newer than ${jar#"$root"/}"
            ((${#newer[@]} == 1)) || reason+=" (and $((${#newer[@]} - 1)) more files)"
            break
        fi
    done
    [[ -n "$reason" ]] || return 0

    local cmd=(./mvnw -B -ntp --also-make -pl "$module" package -DskipTests)
    echo "$tool: rebuilding, since $reason: ${cmd[*]}" >&2
    (cd "$root" && "${cmd[@]}") >&2
    for jar in "$@"; do
        [[ -f "$jar" ]] || { echo "$tool: the build succeeded but made no $jar" >&2; exit 1; }
    done
}

# The java to run: $JAVA_HOME's when it is set (as ./mvnw and Maven do, so the jar runs on the JDK that built it),
# else the one on PATH.
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    java="$JAVA_HOME/bin/java"
elif ! java="$(command -v java)"; then
    echo "$tool: no java found: install JDK 17 or newer, or set JAVA_HOME" >&2
    exit 1
fi

# java_major: the feature release of $java (17, 21, 25...), from its release file, else from `java -version`.
java_major() {
    local home v=""
    home="$(dirname "$(dirname "$(readlink -f "$java")")")"
    [[ -f "$home/release" ]] && v="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release")"
    [[ -n "$v" ]] || v="$("$java" -version 2>&1 | sed -n '/version "/{s/.*version "\([^"]*\)".*/\1/p;q}')"
    v="${v#1.}" # 1.8.0_402 -> 8
    echo "${v%%[!0-9]*}"
}

# java_flags: flags for this JDK, before the user's own. From JDK 21 on, Netty's native transports (and JNA) make the
# JVM warn about restricted native access unless it is granted; JDK 17 takes no such flag here.
java_flags=()
major="$(java_major)"
if [[ -n "$major" ]] && ((major >= 21)); then
    java_flags+=(--enable-native-access=ALL-UNNAMED)
fi

# announce JAR: one line on stderr, "<tool> <version> (<jar>)", the version from the jar's manifest when unzip can
# read it.
announce() {
    local version=""
    if command -v unzip >/dev/null 2>&1; then
        version="$(unzip -p "$1" META-INF/MANIFEST.MF 2>/dev/null | tr -d '\r' \
            | sed -n 's/^Implementation-Version: *//p')" || version=""
    fi
    echo "$tool ${version:+$version }($1)" >&2
}
