#!/usr/bin/env bash
# Build and install one upstream httpd release from a source archive, for
# `make matrix`; print its install prefix on the last line of stdout.
#
#   scripts/build-httpd.sh ARCHIVE CACHE_DIR
#
# The prefix is CACHE_DIR/<release>-<first 16 hex of the archive's
# sha256>: a changed archive gets a new prefix, an unchanged one is built
# once and reused (by every checkout that points at the same cache).  The
# build installs into a scratch directory (DESTDIR) next to it and is
# renamed into place only when complete, under a lock, so a half-finished
# build is never used and two runs never build the same release at once.
#
# Facts this follows (see the README next to the archives):
# - the archives are git trees: ./buildconf first;
# - releases before 2.4.53 know only PCRE1 (pcre-config), later ones are
#   built with PCRE2 as distributions do;
# - mod_ssl before 2.4.52 calls ERR_GET_FUNC, which OpenSSL 3 removed: it
#   compiles, then fails to load.  A header forced in at make time (not at
#   configure time, or apxs would hand it on to every module built against
#   this httpd) defines it away; only a key-mismatch check reads it.
set -euo pipefail

archive=$(readlink -f "${1:?usage: $0 ARCHIVE CACHE_DIR}")
cache=${2:?usage: $0 ARCHIVE CACHE_DIR}
jobs=${MATRIX_JOBS:-$(nproc)}

base=$(basename "$archive" .tar.gz)
release=${base#httpd-}
sum=$(sha256sum "$archive" | cut -c1-16)
mkdir -p "$cache"
cache=$(readlink -f "$cache")
prefix="$cache/$release-$sum"

if [ -x "$prefix/bin/apxs" ]; then
    echo "$prefix"
    exit 0
fi

exec 9>"$prefix.lock"
flock 9
if [ -x "$prefix/bin/apxs" ]; then         # built while we waited
    echo "$prefix"
    exit 0
fi

# 2.4.x releases compare as numbers; anything else (trunk) is newest.
older_than() {
    case "$release" in
        2.4.*) [ "$(printf '%s\n%s\n' "$release" "$1" | sort -V | head -1)" \
                 != "$1" ] ;;
        *) return 1 ;;
    esac
}

work=$(mktemp -d "$cache/.build-$release-XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$work/build.log"
echo "build-httpd: $release from $archive into $prefix (log $log)" >&2

if older_than 2.4.53; then
    pcre=$(command -v pcre-config) \
        || { echo "build-httpd: $release needs PCRE1's pcre-config" \
                  "(libpcre3-dev)" >&2; exit 1; }
else
    pcre=$(command -v pcre2-config) \
        || { echo "build-httpd: $release needs pcre2-config" \
                  "(libpcre2-dev)" >&2; exit 1; }
fi

makeflags=()
if older_than 2.4.52 && openssl version | grep -q '^OpenSSL [3-9]'; then
    echo '#define ERR_GET_FUNC(e) 0' > "$work/err_get_func.h"
    makeflags+=(CPPFLAGS="-include $work/err_get_func.h")
fi

fail() {
    echo "build-httpd: $release: $1 failed; last lines of $log:" >&2
    tail -40 "$log" >&2
    trap - EXIT                     # keep the scratch tree to look at
    exit 1
}

tar -xzf "$archive" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -1)
cd "$src"
./buildconf --with-apr=/usr/bin/apr-1-config \
    --with-apr-util=/usr/bin/apu-1-config >>"$log" 2>&1 || fail buildconf
./configure --prefix="$prefix" \
    --with-apr=/usr/bin/apr-1-config --with-apr-util=/usr/bin/apu-1-config \
    --with-pcre="$pcre" --enable-mods-shared=reallyall \
    --enable-mpms-shared=event --with-mpm=event --enable-ssl \
    --enable-http2 >>"$log" 2>&1 || fail configure
make -j"$jobs" "${makeflags[@]}" >>"$log" 2>&1 || fail make
make install DESTDIR="$work/root" >>"$log" 2>&1 || fail "make install"
cp "$log" "$work/root$prefix/build.log"
echo "$archive $sum" > "$work/root$prefix/ARCHIVE"
mv -T "$work/root$prefix" "$prefix"
echo "build-httpd: $release installed in $prefix" >&2
echo "$prefix"
