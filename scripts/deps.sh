#!/usr/bin/env bash
# Make sure what `make test` or `make demo` needs is installed, on Debian
# or Ubuntu.  As root it installs what is missing with apt-get; otherwise
# it prints the exact command to run and stops.
#
#   scripts/deps.sh demo    build and run a demo httpd
#   scripts/deps.sh test    also the test suite's tools
#   scripts/deps.sh bench   also valgrind, wrk and h2load
#   scripts/deps.sh fuzz    clang and its libFuzzer/sanitizer runtime
#   scripts/deps.sh deb     what `make deb` needs: debhelper, dh_apache2
#                           (in apache2-dev), dpkg-dev, and git in a clone
#   scripts/deps.sh deb-check   also lintian, for scripts/deb-check.sh
#   scripts/deps.sh matrix  the test suite's tools, and what building
#                           upstream httpd releases from source needs
set -euo pipefail

what=${1:-test}
# apache2-bin holds httpd and its modules (mod_ssl, mod_http2, mod_proxy,
# mod_cgid, mod_cache) without starting a system service on port 80.
# libssl-dev: HSTSLockoutCheck reads certificates with libcrypto.
pkgs="apache2-bin apache2-dev apache2-utils build-essential curl openssl
      libssl-dev media-types python3"
case "$what" in
    demo) ;;
    test) pkgs="$pkgs python3-pytest python3-h2 nghttp2-client chromium
               libnss3-tools"
          # node for playwright-core: Debian's, unless one is installed
          command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm" ;;
    bench) pkgs="$pkgs valgrind wrk nghttp2-client procps
                 python3-cryptography" ;;
    fuzz) pkgs="build-essential clang libclang-rt-dev" ;;
    # git lists a clone's files for the tarball (a copy without .git
    # packs what is there, less what .gitignore names)
    deb) pkgs="$pkgs debhelper dpkg-dev"
         [ ! -e "$(dirname "$0")/../.git" ] || pkgs="$pkgs git" ;;
    deb-check) pkgs="$pkgs debhelper dpkg-dev lintian" ;;
    # PCRE1 for releases before 2.4.53, PCRE2 for the others
    matrix) pkgs="$pkgs python3-pytest python3-h2 nghttp2-client chromium
                  libnss3-tools
                  libapr1-dev libaprutil1-dev libpcre3-dev libpcre2-dev
                  libssl-dev libnghttp2-dev libexpat1-dev autoconf automake
                  libtool binutils"
            command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm" ;;
    *) echo "usage: $0 demo|test|bench|fuzz|matrix|deb|deb-check" >&2
       exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian/Ubuntu system; install the equivalents of:" \
         $pkgs >&2
    exit 1
fi

missing=()
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
apt_install() {
    local cmd="apt-get install -y --no-install-recommends $*"
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: run this, then try again:" >&2
        if command -v sudo >/dev/null 2>&1; then
            echo "    sudo apt-get update && sudo $cmd" >&2
        else
            echo "    su -c 'apt-get update && $cmd'" >&2
        fi
        exit 1
    fi
    echo "deps: installing $*"
    export DEBIAN_FRONTEND=noninteractive
    # on a shared machine someone else may hold the dpkg lock: wait for it
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 ${cmd#apt-get }
}
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: missing packages: ${missing[*]}" >&2
    apt_install "${missing[@]}"
fi

# A newer apache2-bin does not pull a newer libssl along, and mod_ssl built
# against a newer OpenSSL than the one loaded warns (AH01882) at every
# start, which the tests rightly count as a failure.
modssl=/usr/lib/apache2/modules/mod_ssl.so
libssl=$(dpkg-query -S '*/libssl.so.3' 2>/dev/null | head -1 | cut -d: -f1)
if [ -f "$modssl" ] && [ -n "$libssl" ]; then
    built=$(grep -aoE 'OpenSSL [0-9]+\.[0-9]+\.[0-9]+' "$modssl" | head -1 \
            | cut -d' ' -f2)
    have=$(dpkg-query -W -f='${Version}' "$libssl" | sed 's/-.*//')
    if [ -n "$built" ] && dpkg --compare-versions "$have" lt "$built"; then
        echo "deps: mod_ssl was built against OpenSSL $built, $libssl is" \
             "$have" >&2
        apt_install "$libssl" openssl
    fi
fi

# The browser tests drive Debian's chromium with playwright-core from npm,
# pinned in tests/browser/package-lock.json; it never downloads a browser.
# When npm cannot fetch it (no route to the registry, a TLS-intercepting
# proxy), the other tests still run: the browser tests then fail, quoting
# npm's log.
# Under sudo, by the user who called it when that user owns the checkout,
# as the Makefile does: no root-owned files in it.
top=$(cd "$(dirname "$0")/.." && pwd)
as_user=()
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] \
        && [ "$(stat -c %u "$top")" = "${SUDO_UID:-}" ]; then
    as_user=(runuser -u "$SUDO_USER" --)
fi
browser="$top/tests/browser"
npm_log="$top/build/npm-ci.log"
if { [ "$what" = test ] || [ "$what" = matrix ]; } \
        && [ ! -d "$browser/node_modules/playwright-core" ]; then
    echo "deps: npm ci in tests/browser (playwright-core)"
    "${as_user[@]}" mkdir -p "$top/build"
    "${as_user[@]}" touch "$npm_log"
    if "${as_user[@]}" npm ci --prefix "$browser" --no-audit --no-fund \
            > "$npm_log" 2>&1
    then
        rm -f "$npm_log"
        rmdir "$top/build" 2>/dev/null || true
    else
        echo "deps: npm ci failed in tests/browser; the browser tests" \
             "will fail, the others run.  npm said (all of it in" \
             "$npm_log):" >&2
        grep -E "^npm (error|ERR!) [^ }]" "$npm_log" | head -n 8 >&2 || true
    fi
fi

# dh_apache2 comes with apache2-dev on Debian 12; newer releases may ship it
# on its own.
if [ "${what#deb}" != "$what" ] && ! command -v dh_apache2 >/dev/null 2>&1
then
    echo "deps: no dh_apache2 after installing apache2-dev: install the" \
         "package that has it (dh-apache2 on newer releases)" >&2
    exit 1
fi
