#!/bin/sh
# mod_hsts' version, written once in include/mod_hsts_version.h.
#
#   scripts/version.sh          print it
#   scripts/version.sh check    fail unless CHANGES (its newest section),
#                               debian/changelog (its newest entry) and
#                               every version named in README.md agree
#
# `make dist`, `make deb` (debian/rules) and the test suite run the check,
# so a release cannot go out with two numbers.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
header="$top/include/mod_hsts_version.h"
v=$(sed -n 's/^#define MOD_HSTS_VERSION "\([0-9]*\.[0-9]*\.[0-9]*\)"$/\1/p' \
        "$header")
if [ -z "$v" ]; then
    echo "version: no '#define MOD_HSTS_VERSION \"X.Y.Z\"' in $header" >&2
    exit 1
fi
if [ "${1:-}" != check ]; then
    echo "$v"
    exit 0
fi

bad=0
say() {
    echo "version: $*" >&2
    bad=1
}

# CHANGES: the first "Changes with mod_hsts X.Y.Z" line is the newest.
changes=$(sed -n 's/^Changes with mod_hsts \([^ ]*\)$/\1/p' "$top/CHANGES" \
              | head -n 1)
[ "$changes" = "$v" ] \
    || say "CHANGES' newest section is '${changes:-none}', the header says $v"

# debian/changelog: "libapache2-mod-hsts (X.Y.Z-N) ..." on its first line.
deb=$(sed -n '1s/^libapache2-mod-hsts (\([^)]*\)).*/\1/p' \
          "$top/debian/changelog")
[ "${deb%-*}" = "$v" ] && [ "${deb%-*}" != "$deb" ] \
    || say "debian/changelog's newest entry is '${deb:-none}'," \
           "expected $v-N"

# README.md: it names the version at least once, and no other (as
# "Version X.Y.Z", "mod_hsts X.Y.Z", or in a tarball or package name).
mine='(Version |mod_hsts |libapache2-mod-hsts_|mod_hsts-)'
named=$(grep -oE "${mine}[0-9]+\.[0-9]+\.[0-9]+" "$top/README.md" \
            | sed 's/.*[ _-]//' | sort -u)
[ -n "$named" ] || say "README.md does not name the version ($v)"
for n in $named; do
    [ "$n" = "$v" ] || say "README.md names version $n, the header says $v"
done

[ "$bad" -eq 0 ] || exit 1
echo "version $v: header, CHANGES, debian/changelog and README.md agree"
