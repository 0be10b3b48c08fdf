#!/usr/bin/env bash
# The release tarball, and the proof that it stands on its own.
#
#   scripts/dist.sh               dist/mod_hsts-VERSION.tar.gz (make dist)
#   scripts/dist.sh check [unit|test]
#                                 (make distcheck) unpack it in a scratch
#                                 directory, far from any git metadata,
#                                 then `make` and `make unit` there (test:
#                                 the whole `make test`), and `make dist`
#                                 there again, which must give the same
#                                 files
#
# In a git checkout the tarball holds the tracked files as they are in the
# working tree (uncommitted edits included, untracked files left out), and
# their list as .dist-files; in an unpacked tarball, which has no git
# metadata, `make dist` packs the files that list names.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
version=$(sh scripts/version.sh)
name="mod_hsts-$version"
tarball="dist/$name.tar.gz"
manifest=.dist-files

in_git() {
    command -v git >/dev/null 2>&1 \
        && [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$top" ]
}

# The files that make the release, one per line, sorted, the manifest
# among them.
file_list() {
    if in_git; then
        { git ls-files --cached | sort > "$1.all"
          git ls-files --deleted | sort > "$1.deleted"
          comm -23 "$1.all" "$1.deleted"
          echo "$manifest"; } | sort
        rm -f "$1.all" "$1.deleted"
    elif [ -f "$manifest" ]; then
        sort "$manifest"
    else
        echo "dist: neither a git checkout nor an unpacked release" \
             "($manifest): which files make the release?" >&2
        exit 1
    fi
}

make_tarball() {
    sh scripts/version.sh check
    mkdir -p dist
    local tmp mtime
    tmp=$(mktemp -d)
    file_list "$tmp/list" > "$tmp/$manifest"
    if in_git && ! git diff --quiet HEAD -- 2>/dev/null; then
        echo "dist: note: uncommitted changes are in the tarball" >&2
    fi
    mtime=${SOURCE_DATE_EPOCH:-}
    if [ -z "$mtime" ] && in_git; then
        mtime=$(git log -1 --format=%ct 2>/dev/null || true)
    fi
    # the tree's files, then the manifest written here (in git it is in
    # no working tree)
    grep -vx "$manifest" "$tmp/$manifest" | tr '\n' '\0' > "$tmp/files0"
    tar -cf - --null --no-recursion --sort=name --owner=0 --group=0 \
        --numeric-owner ${mtime:+--mtime=@$mtime} \
        --transform "s,^,$name/," -T "$tmp/files0" -C "$tmp" "$manifest" \
        | gzip -n -9 > "$tarball.tmp"
    mv "$tarball.tmp" "$tarball"
    rm -rf "$tmp"
    echo "$tarball ($(tar -tzf "$tarball" | grep -cv '/$') files)"
}

check() {
    local what=${1:-unit}
    case "$what" in
        unit) scripts/deps.sh demo ;;
        test) ;;                        # make test installs its own
        *) echo "usage: $0 check [unit|test]" >&2; exit 2 ;;
    esac
    make_tarball
    scratch=$(mktemp -d /tmp/hsts-distcheck.XXXXXX)
    # httpd's children (www-data) read the test files there
    chmod 755 "$scratch"
    trap 'rm -rf "$scratch"' EXIT
    tar -xzf "$tarball" -C "$scratch"
    local tree="$scratch/$name"

    if tar -tzf "$tarball" | grep -qE '(^|/)\.git(/|$)'; then
        echo "distcheck: git metadata in $tarball" >&2
        exit 1
    fi
    if in_git; then
        local want
        want=$(mktemp)
        file_list "$want" > "$want.files"
        if ! diff -u "$want.files" <(tar -tzf "$tarball" | grep -v '/$' \
                                     | sed "s,^$name/,," | sort); then
            echo "distcheck: $tarball differs from the tracked files" >&2
            exit 1
        fi
        rm -f "$want" "$want.files"
    fi
    if ! diff -u <(sort "$tree/$manifest") \
                 <(tar -tzf "$tarball" | grep -v '/$' \
                   | sed "s,^$name/,," | sort); then
        echo "distcheck: $manifest does not list the tarball's files" >&2
        exit 1
    fi

    echo "distcheck: building in $tree"
    (cd "$tree" && make && make unit)
    if [ "$what" = test ]; then
        (cd "$tree" && make test)
    fi

    # make dist works there too, without git, and leaves out what the
    # build and the tests made
    (cd "$tree" && make dist)
    if ! diff -u <(tar -tvzf "$tarball" | awk '{print $1, $3, $6}' | sort) \
            <(tar -tvzf "$tree/$tarball" | awk '{print $1, $3, $6}' | sort)
    then
        echo "distcheck: make dist in the unpacked tree gives other files" \
            "(names, modes or sizes)" >&2
        exit 1
    fi
    echo "distcheck: $tarball builds and passes 'make $what' outside git;" \
        "make dist there gives the same files"
}

case "${1:-}" in
    "") make_tarball ;;
    check) check "${2:-unit}" ;;
    *) echo "usage: $0 [check [unit|test]]" >&2; exit 2 ;;
esac
