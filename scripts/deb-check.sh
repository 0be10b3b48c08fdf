#!/usr/bin/env bash
# Proves the Debian package on this machine, as root, and leaves the
# machine as it found it:
#
#   1. make deb, then lintian (any error fails);
#   2. if Debian's `apache2` package is missing (only apache2-bin, as the
#      test dependencies install it), install it, pinned to the installed
#      apache2-bin's version so that nothing others use changes;
#   3. snapshot /etc/apache2 (every path, mode, owner, link target and
#      file checksum) and the listeners on ports 80 and 443;
#   4. apt-get install ./dist/libapache2-mod-hsts_*.deb: the files where
#      they belong, the module ABI dependency, the module enabled by the
#      package's postinst; a2dismod hsts and a2enmod hsts work;
#   5. start the system's httpd with Debian's own apachectl (as
#      apache2.service does: `apachectl start`), /etc/apache2 and its
#      envvars, plus a throwaway TLS vhost on a free loopback port with a
#      throwaway self-signed certificate and an HSTSPolicy; one HTTPS
#      request with curl must carry exactly that header; the error log
#      (/var/log/apache2/error.log) names the packaged version once; stop
#      it.  Then the startup findings, through the same apachectl: a
#      preload policy with two problems is told once on apachectl start's
#      terminal and once in the error log; `apachectl graceful` tells the
#      log once more and the terminal nothing; a config that now fails
#      `HSTSPreloadCheck strict` makes `apachectl graceful` fail with the
#      reason while the server goes on serving; `apachectl stop` stops it
#      all the same; `apachectl start` with it fails with the reason and
#      leaves no process;
#   6. apt-get remove: the module is disabled (mods-enabled/hsts.* gone)
#      and removed; apt-get purge: none of the package's files is left,
#      nor any state of it under /var/lib/apache2;
#   7. /etc/apache2 is the same as in step 3 and nothing new listens on
#      80 or 443; if step 2 installed packages, they are purged again and
#      /etc/apache2 is the same as before step 2.
#
# The system httpd reads /etc/apache2/apache2.conf through a copy without
# its `Include ports.conf`, so it never opens ports 80 or 443: only the
# check's loopback port.  Its run, lock and log directories are in a
# scratch directory, and a temporary /usr/sbin/policy-rc.d (if there is
# none) keeps apt from starting the apache2 service.  mod_ssl is loaded by
# the check's own config where the system's does not load it, so no
# a2enmod other than hsts's is needed.  On any failure the same clean-up
# runs: httpd stopped, the package purged, the packages of step 2 purged.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pkg=libapache2-mod-hsts
server_name=hsts-check.test
policy="max-age=31536000; includeSubDomains"

say() { echo "deb-check: $*"; }
fail() { echo "deb-check: FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    echo "deb-check: run as root (sudo $0): it installs the package into" \
         "this machine's apache2 and removes it again" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -y -q "$@"; }
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

# Never overwrite, nor later purge, module files this check did not put
# there (a `make install`, say).
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
        | grep -qv "not-installed"; then
    fail "$pkg is already on this machine ($(dpkg-query -W \
        -f='${Status}' $pkg)): purge it first"
fi
for f in /usr/lib/apache2/modules/mod_hsts.so \
         /etc/apache2/mods-available/hsts.load \
         /etc/apache2/mods-available/hsts.conf \
         /etc/apache2/mods-enabled/hsts.load \
         /etc/apache2/mods-enabled/hsts.conf; do
    if [ -e "$f" ] || [ -L "$f" ]; then
        fail "$f exists and is not the package's (make install?):" \
             "remove it first"
    fi
done

scripts/deps.sh deb-check
make deb
version=$(sh scripts/version.sh)
deb="dist/${pkg}_$(dpkg-parsechangelog -l debian/changelog -S Version)"
deb="${deb}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || fail "make deb did not write $deb"
say "package $deb"

say "lintian $deb"
lintian --fail-on error --display-info --show-overrides "$deb" \
    || fail "lintian reports errors"

scratch=$(mktemp -d /tmp/hsts-deb-check.XXXXXX)
chmod 755 "$scratch"
our_policy_rc=0
added_pkgs=""
httpd_conf="$scratch/check.conf"

# Debian's apachectl on the check's config: Debian's envvars with the run
# and lock directories moved to the scratch directory; the error log is
# the system's, /var/log/apache2/error.log.  APACHE_STARTED_BY_SYSTEMD
# keeps apachectl from handing `start` to systemctl (the system's
# apache2.service, ports 80 and 443) on a machine that runs systemd.
ctl() {
    APACHE_ENVVARS="$scratch/envvars" APACHE_ARGUMENTS="-f $httpd_conf" \
        APACHE_STARTED_BY_SYSTEMD=true /usr/sbin/apachectl "$@"
}
httpd() {
    (
        set +u
        # shellcheck source=/dev/null
        . "$scratch/envvars"
        /usr/sbin/apache2 -d /etc/apache2 -f "$httpd_conf" "$@"
    )
}

httpd_pid() {
    local pid
    pid=$(cat "$scratch/run/apache2.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid"
    fi
}

# Until process $1 is gone (20 s at most): non-zero if it is not.
wait_exit() {
    for _ in $(seq 1 100); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.2
    done
    return 1
}

stop_httpd() {
    local pid
    pid=$(httpd_pid)
    [ -n "$pid" ] || return 0
    ctl stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    wait_exit "$pid" || kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    set +e
    stop_httpd
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
            | grep -qv "not-installed"; then
        say "clean-up: purging $pkg"
        apt_get purge "$pkg" >/dev/null
    fi
    if [ -n "$added_pkgs" ]; then
        say "clean-up: purging what this check installed: $added_pkgs"
        # shellcheck disable=SC2086
        apt_get purge $added_pkgs >/dev/null
    fi
    if [ "$our_policy_rc" = 1 ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
    rm -rf "$scratch"
    if [ "$rc" -ne 0 ]; then
        echo "deb-check: FAILED (rc $rc); the machine was cleaned up" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT

# Every path under /etc/apache2 with its type, mode, owner, link target
# and, for files, checksum.
snapshot() {
    if [ ! -d /etc/apache2 ]; then
        echo "(no /etc/apache2)"
        return
    fi
    find /etc/apache2 -printf '%y %m %u:%g %p -> %l\n' | sort
    find /etc/apache2 -type f -print0 | sort -z | xargs -0r sha256sum
}

# Listening sockets on ports 80 and 443 (IPv4 and IPv6), from /proc.
listeners() {
    python3 - <<'EOF'
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        rows = open(name).read().splitlines()[1:]
    except OSError:
        continue
    for row in rows:
        f = row.split()
        port = int(f[1].rsplit(":", 1)[1], 16)
        if f[3] == "0A" and port in (80, 443):
            print(name, f[1])
EOF
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# -- 2. the apache2 package -------------------------------------------------
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# deb-check.sh: no service starts\nexit 101\n' \
        > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    our_policy_rc=1
fi
etc_before=$(snapshot)
ports_before=$(listeners)
bin_version=$(dpkg-query -W -f='${Version}' apache2-bin)
if ! installed apache2; then
    say "installing Debian's apache2 $bin_version (a2enmod, /etc/apache2)"
    before=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
             | awk '$1 == "ii" {print $2}' | sort)
    apt_get install --no-install-recommends "apache2=$bin_version" \
        >/dev/null
    after=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
            | awk '$1 == "ii" {print $2}' | sort)
    added_pkgs=$(comm -13 <(echo "$before") <(echo "$after") \
                 | sed 's/:.*//' | tr '\n' ' ')
    say "installed: $added_pkgs"
fi

# -- 3. snapshot -------------------------------------------------------------
etc_apache=$(snapshot)

# -- 4. install ----------------------------------------------------------------
say "apt-get install ./$deb"
apt_get install "$top/$deb" >/dev/null
installed "$pkg" || fail "$pkg is not installed"
dpkg -L "$pkg" > "$scratch/files"
for f in /usr/lib/apache2/modules/mod_hsts.so \
         /etc/apache2/mods-available/hsts.load \
         /etc/apache2/mods-available/hsts.conf; do
    grep -qx "$f" "$scratch/files" && [ -f "$f" ] \
        || fail "$f is not installed by $pkg"
done
depends=$(dpkg-query -W -f='${Depends}' "$pkg")
case ", $depends," in
    *", apache2-api-20120211,"*) ;;
    *) fail "Depends has no apache2-api-20120211: $depends" ;;
esac
[ -L /etc/apache2/mods-enabled/hsts.load ] \
    || fail "the package's postinst did not enable the module"
a2dismod -q hsts
[ ! -e /etc/apache2/mods-enabled/hsts.load ] || fail "a2dismod hsts"
a2enmod -q hsts
[ -L /etc/apache2/mods-enabled/hsts.load ] \
    && [ -L /etc/apache2/mods-enabled/hsts.conf ] || fail "a2enmod hsts"
say "installed: $(grep -c . "$scratch/files") paths; Depends: $depends;" \
    "a2dismod/a2enmod hsts work"

# -- 5. serve HTTPS through the system's httpd ------------------------------
port=$(free_port)
mkdir -p "$scratch/run" "$scratch/lock" "$scratch/htdocs"
cat > "$scratch/envvars" <<EOF
. /etc/apache2/envvars
export APACHE_RUN_DIR="$scratch/run" APACHE_LOCK_DIR="$scratch/lock"
export APACHE_PID_FILE="$scratch/run/apache2.pid"
EOF
log=/var/log/apache2/error.log
log_size() { stat -c %s "$log" 2>/dev/null || echo 0; }
echo "mod_hsts package check" > "$scratch/htdocs/index.html"
chmod -R a+rX "$scratch/htdocs"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=$server_name" \
    -addext "subjectAltName=DNS:$server_name" \
    -addext "basicConstraints=critical,CA:FALSE" -keyout "$scratch/key.pem" \
    -out "$scratch/cert.pem" 2>/dev/null
grep -v '^[[:space:]]*Include[[:space:]]\+ports\.conf' \
    /etc/apache2/apache2.conf > "$scratch/system.conf"
cat > "$httpd_conf" <<EOF
# The system's configuration, without its Listen lines (ports.conf).
Include $scratch/system.conf
# mod_ssl as a2enmod ssl would set it up, unless the system has it.
<IfModule !ssl_module>
    LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
    <IfModule !socache_shmcb_module>
        LoadModule socache_shmcb_module \
            /usr/lib/apache2/modules/mod_socache_shmcb.so
    </IfModule>
    SSLSessionCache "shmcb:$scratch/run/ssl_scache(512000)"
</IfModule>
Listen 127.0.0.1:$port
<VirtualHost 127.0.0.1:$port>
    ServerName $server_name
    DocumentRoot "$scratch/htdocs"
    <Directory "$scratch/htdocs">
        Require all granted
    </Directory>
    SSLEngine on
    SSLCertificateFile "$scratch/cert.pem"
    SSLCertificateKeyFile "$scratch/key.pem"
    HSTSPolicy "$policy"
</VirtualHost>
# the throwaway certificate is its own CA
HSTSLockoutCheck warn "ca=$scratch/cert.pem"
EOF
dump=$(httpd -t -D DUMP_HSTS 2>/dev/null) || fail "apache2 -t failed"
case "$(echo "$dump" | head -n 1)" in
    *"\"main_server\":true"*"\"version\":\"$version\""* \
    | *"\"version\":\"$version\""*"\"main_server\":true"*) ;;
    *) fail "apachectl -t -D DUMP_HSTS: no version $version in the main" \
            "server's line: $(echo "$dump" | head -n 1)" ;;
esac
log_from=$(log_size)
ctl start > "$scratch/start.out" 2>&1 || fail "apachectl start:" \
    "$(cat "$scratch/start.out")"
for _ in $(seq 1 100); do
    if curl -s -o /dev/null --max-time 1 --cacert "$scratch/cert.pem" \
            --resolve "$server_name:$port:127.0.0.1" \
            "https://$server_name:$port/"; then
        break
    fi
    sleep 0.2
done
headers=$(curl -sS -D - -o /dev/null --max-time 20 \
          --cacert "$scratch/cert.pem" \
          --resolve "$server_name:$port:127.0.0.1" \
          "https://$server_name:$port/") || fail "curl failed"
status=$(echo "$headers" | head -n 1 | tr -d '\r')
sts=$(echo "$headers" | tr -d '\r' \
      | grep -i '^strict-transport-security:' || true)
say "GET https://$server_name:$port/ -> $status; $sts"
case "$status" in
    HTTP/*" 200"*) ;;
    *) fail "status: $status" ;;
esac
[ "$(echo "$sts" | grep -c .)" = 1 ] \
    || fail "expected one Strict-Transport-Security header, got: $sts"
[ "$(echo "$sts" | cut -d: -f2- | sed 's/^ *//')" = "$policy" ] \
    || fail "header value: $sts"
stop_httpd
[ -z "$(httpd_pid)" ] || fail "httpd still running"
tail -c +$((log_from + 1)) "$log" > "$scratch/log.new"
loaded=$(grep -c "\[hsts:notice\].* mod_hsts $version loaded" \
         "$scratch/log.new" || true)
[ "$loaded" = 1 ] || fail "'mod_hsts $version loaded' $loaded times in" \
    "the error log:"$'\n'"$(cat "$scratch/log.new")"
if grep -E '\[[a-z_0-9]+:(warn|error|crit|alert|emerg)\]' \
        "$scratch/log.new"; then
    fail "warnings or errors in the error log (above)"
fi
# httpd's own AH00558 (no global ServerName) may be there; nothing of ours
if grep -i hsts "$scratch/start.out"; then
    fail "apachectl start printed the above"
fi
say "apachectl start: nothing from mod_hsts on the terminal; $log:" \
    "'mod_hsts $version loaded' once, no warning"

# -- 5b. startup findings through apachectl ----------------------------------
lines() { grep -cF -- "$1" "$2" || true; }     # lines of $2 holding $1
new_log() { tail -c +$((log_from + 1)) "$log" > "$scratch/log.new"; }
problems=("preload requires includeSubDomains"
          "preload requires max-age of at least 31536000")
refusal="HSTSPreloadCheck strict: 2 preload problem(s), refusing to start"
with_check() {
    sed -e 's/^    HSTSPolicy .*/    HSTSPolicy "max-age=300; preload"/' \
        -e '/^HSTSPreloadCheck/d' "$scratch/good.conf" > "$scratch/c.tmp"
    { echo "HSTSPreloadCheck $1"; cat "$scratch/c.tmp"; } > "$httpd_conf"
}
expect() {  # COUNT FILE WHAT: each problem COUNT times in FILE
    local p n
    for p in "${problems[@]}"; do
        n=$(lines "$p" "$2")
        [ "$n" = "$1" ] || fail "$3: '$p' $n times, not $1:"$'\n'"$(cat "$2")"
    done
}
wait_generations() {  # until $log has $1 "resuming" lines since log_from
    for _ in $(seq 1 100); do
        new_log
        [ "$(lines "resuming normal operations" "$scratch/log.new")" \
            -ge "$1" ] && return 0
        sleep 0.2
    done
    fail "no (re)start $1 in $log:"$'\n'"$(cat "$scratch/log.new")"
}
cp "$httpd_conf" "$scratch/good.conf"
with_check warn
log_from=$(log_size)
ctl start > "$scratch/start.out" 2>&1 || fail "apachectl start (warn):" \
    "$(cat "$scratch/start.out")"
wait_generations 1
expect 1 "$scratch/start.out" "apachectl start's terminal"
expect 1 "$scratch/log.new" "$log after apachectl start"
say "apachectl start: each preload problem once on the terminal, once in" \
    "$log"
ctl graceful > "$scratch/graceful.out" 2>&1 || fail "apachectl graceful:" \
    "$(cat "$scratch/graceful.out")"
wait_generations 2
expect 0 "$scratch/graceful.out" "apachectl graceful's terminal"
expect 2 "$scratch/log.new" "$log after apachectl graceful"
say "apachectl graceful: nothing on the terminal, each problem once more" \
    "in $log"
pid=$(httpd_pid)
with_check strict
if ctl graceful > "$scratch/graceful.out" 2>&1; then
    fail "apachectl graceful took a config that fails strict"
fi
[ "$(lines "$refusal" "$scratch/graceful.out")" -ge 1 ] \
    || fail "apachectl graceful said no reason:" \
            "$(cat "$scratch/graceful.out")"
sleep 1
[ "$(httpd_pid)" = "$pid" ] || fail "the running httpd did not survive"
curl -sS -o /dev/null --max-time 20 --cacert "$scratch/cert.pem" \
    --resolve "$server_name:$port:127.0.0.1" "https://$server_name:$port/" \
    || fail "the running httpd no longer serves"
say "apachectl graceful into a config failing strict: refused with the" \
    "reason; the server (pid $pid) goes on serving"
ctl stop > "$scratch/stop.out" 2>&1 || fail "apachectl stop refused:" \
    "$(cat "$scratch/stop.out")"
wait_exit "$pid" || fail "apachectl stop did not stop it"
if ctl start > "$scratch/start.out" 2>&1; then
    fail "apachectl start took a config that fails strict"
fi
expect 1 "$scratch/start.out" "apachectl start's terminal (strict)"
[ "$(lines "$refusal" "$scratch/start.out")" = 1 ] \
    || fail "apachectl start: no refusal: $(cat "$scratch/start.out")"
sleep 1
[ ! -e "$scratch/run/apache2.pid" ] || fail "a pid file was left"
if pgrep -f -- "-f $httpd_conf" >/dev/null; then
    fail "a process was left"
fi
say "apachectl stop with it: stopped; apachectl start with it: refused" \
    "with each problem and the reason; no process, no pid file"
cp "$scratch/good.conf" "$httpd_conf"

# -- 6. remove, purge --------------------------------------------------------
apt_get remove "$pkg" >/dev/null
for f in /etc/apache2/mods-enabled/hsts.load \
         /etc/apache2/mods-enabled/hsts.conf \
         /usr/lib/apache2/modules/mod_hsts.so; do
    [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f left after apt-get remove"
done
[ -f /etc/apache2/mods-available/hsts.conf ] \
    || fail "apt-get remove dropped the conffile hsts.conf (purge's job)"
say "apt-get remove: module disabled and removed, conffiles kept"

# Paths only this package owns: its files, and directories no other
# package shares.
while read -r path; do
    if [ -d "$path" ] && [ ! -L "$path" ]; then
        [ "$(dpkg-query -S "$path" 2>/dev/null | cut -d: -f1)" = "$pkg" ] \
            || continue
    fi
    echo "$path"
done < "$scratch/files" > "$scratch/own"
apt_get purge "$pkg" >/dev/null
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
        | grep -qv "not-installed"; then
    fail "$pkg still known to dpkg after purge"
fi
left=$( { while read -r path; do
              if [ -e "$path" ] || [ -L "$path" ]; then echo "$path"; fi
          done < "$scratch/own"
          ls -d /etc/apache2/mods-enabled/hsts.* 2>/dev/null || true
          find /var/lib/apache2 -name '*hsts*' 2>/dev/null || true; } )
[ -z "$left" ] || fail "left after purge:"$'\n'"$left"
say "apt-get purge: none of its $(grep -c . "$scratch/own") paths left," \
    "no mods-enabled/hsts.*, no state in /var/lib/apache2"

# -- 7. the machine as it was ------------------------------------------------
diff <(echo "$etc_apache") <(snapshot) \
    || fail "/etc/apache2 differs from before the install"
say "/etc/apache2 is as it was before the install"
[ "$(listeners)" = "$ports_before" ] \
    || fail "listeners on ports 80/443 changed: $(listeners)"
if [ -n "$added_pkgs" ]; then
    # purge exactly what step 2 installed, nothing else
    # shellcheck disable=SC2086
    plan=$(apt-get -s purge $added_pkgs | awk '/^Purg/ {print $2}' | sort)
    [ "$plan" = "$(echo $added_pkgs | tr ' ' '\n' | sort)" ] \
        || fail "purging $added_pkgs would also remove: $plan"
    # shellcheck disable=SC2086
    apt_get purge $added_pkgs >/dev/null
    added_pkgs=""
    diff <(echo "$etc_before") <(snapshot) \
        || fail "/etc/apache2 differs from before the check"
    say "purged what it installed; /etc/apache2 is as before the check"
fi
[ "$(dpkg-query -W -f='${Version}' apache2-bin)" = "$bin_version" ] \
    || fail "apache2-bin changed"
say "OK: $deb installs, serves HTTPS with the header, and purges cleanly"
