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
#                                 files; then check-copy
#   scripts/dist.sh check-copy [deb]
#                                 (make distcheck-copy) `make dist` in
#                                 copies of the tracked files without git
#                                 gives git's tarball (deb: and `make deb`
#                                 works there)
#
# In a git checkout the tarball holds the tracked files as they are in the
# working tree (uncommitted edits included, untracked files left out), and
# their list as .dist-files; in an unpacked tarball, which has no git
# metadata, `make dist` packs the files that list names.  In a copy with
# neither (a "Download ZIP", or a clone on a machine without git) it packs
# the files present less those .gitignore names, and says so.
set -euo pipefail
shopt -s nullglob dotglob

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
        read_gitignore
        { present_files ""; echo "$manifest"; } | sort
    fi
}

# The patterns of .gitignore, the one list of what builds and tests
# write, so that this cannot drift from it.  Only the forms this reader
# matches like git are accepted; any other stops the release.
patterns=()
read_gitignore() {
    local line
    if [ ! -f .gitignore ]; then
        echo "dist: no .gitignore, no git, no $manifest: which files make" \
             "the release?  Run this in a git clone (apt-get install git)" \
             "or an unpacked release tarball." >&2
        exit 1
    fi
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%"${line##*[![:space:]]}"}
        case "$line" in
            ""|"#"*) continue ;;
            *'**'*|'!'*|*'\'*)
                echo "dist: .gitignore: '$line' is a form scripts/dist.sh" \
                     "does not read without git; install git" \
                     "(apt-get install git) or teach read_gitignore" >&2
                exit 1 ;;
        esac
        patterns+=("$line")
    done < .gitignore
    if [ -e .git ]; then
        echo "dist: git is not installed: packing the files present," \
             "less what .gitignore names (apt-get install git, and" \
             "'make dist' packs exactly the tracked files)" >&2
    else
        echo "dist: no git metadata (a copy, not a clone): packing the" \
             "files present, less what .gitignore names" >&2
    fi
}

# 0 when .gitignore names $1 (relative to the top); $2 is d for a
# directory.  A pattern with an inner slash is anchored at the top, one
# without matches a name at any depth; a trailing slash means directories.
ignored() {
    local pat
    for pat in "${patterns[@]}"; do
        if [ "${pat%/}" != "$pat" ]; then
            [ "$2" = d ] || continue
            pat=${pat%/}
        fi
        case "$pat" in
            */*) [[ $1 == ${pat#/} ]] && return 0 ;;
            *) [[ ${1##*/} == $pat ]] && return 0 ;;
        esac
    done
    return 1
}

# Every file and symlink under the directory $1 ("" for the top), less
# git's metadata and what .gitignore names; ignored directories are not
# entered.
present_files() {
    local entry rel
    for entry in "${1:-.}"/*; do
        rel=${entry#./}
        [ "${rel##*/}" = .git ] && continue
        if [ -d "$entry" ] && [ ! -L "$entry" ]; then
            ignored "$rel" d || present_files "$rel"
        else
            ignored "$rel" f || printf '%s\n' "$rel"
        fi
    done
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
    if in_git; then
        (check_copy)
    fi
}

# (make distcheck, make distcheck-copy) The tracked files copied without
# git metadata, as "Download ZIP" gives them, with what a build, the tests
# and a package build leave behind added: `make dist` there must pack the
# files of the git tarball, and again in a copy that has .git but no git
# on PATH.  With "deb", `make deb` in the first copy too.
check_copy() {
    local deb=${1:-}
    if ! in_git; then
        echo "distcheck: check-copy compares with git's list: run it in a" \
             "git checkout" >&2
        exit 1
    fi
    make_tarball
    scratch=$(mktemp -d /tmp/hsts-copycheck.XXXXXX)
    chmod 755 "$scratch"
    trap 'rm -rf "$scratch"' EXIT
    mkdir "$scratch/bin"
    # git's files, as the tarball holds them, without its manifest
    tar -xzf "$tarball" -C "$scratch"
    mv "$scratch/$name" "$scratch/zip"
    rm "$scratch/zip/$manifest"
    if ! (cd "$scratch/zip" && make all unit \
          && /usr/bin/python3 -m compileall -q tests scripts bench) \
            > "$scratch/build.log" 2>&1; then
        cat "$scratch/build.log" >&2
        echo "distcheck: the build in the copy failed" >&2
        exit 1
    fi
    (cd "$scratch/zip" && mkdir -p tests/browser/node_modules/playwright-core \
                    tests/.pytest_cache build/deb dist \
        && touch tests/browser/node_modules/playwright-core/index.js \
                 tests/.pytest_cache/README.md build/deb/x.deb \
                 tests/fuzz/fuzz_config crash-0 dist/old.tar.gz)
    cp -a "$scratch/zip" "$scratch/clone"
    mkdir "$scratch/clone/.git"
    echo "ref: refs/heads/main" > "$scratch/clone/.git/HEAD"
    # a PATH with every command but git
    local f
    for f in /usr/bin/*; do
        case "${f##*/}" in git|git-*) ;; *) ln -s "$f" "$scratch/bin/" ;; esac
    done

    local want=$scratch/want
    tar -tvzf "$tarball" | awk '{print $1, $3, $6}' \
        | sed "s, $name/, ," | sort > "$want"
    local copy
    for copy in zip clone; do
        echo "distcheck: make dist in a copy without git ($copy)"
        (cd "$scratch/$copy" && rm -f "$tarball" \
            && PATH="$scratch/bin:/usr/sbin:/sbin" make dist)
        if ! diff -u "$want" <(tar -tvzf "$scratch/$copy/$tarball" \
                               | awk '{print $1, $3, $6}' \
                               | sed "s, $name/, ," | sort); then
            echo "distcheck: make dist without git ($copy) packs other" \
                 "files than git's (names, modes or sizes)" >&2
            exit 1
        fi
    done
    if [ "$deb" = deb ]; then
        echo "distcheck: make deb in a copy without git"
        (cd "$scratch/zip" && make deb)
        ls "$scratch/zip/dist/"libapache2-mod-hsts_"$version"-*.deb
    fi
    echo "distcheck: in a copy without git, ${deb:+make deb builds and }make" \
         "dist packs git's files"
}

case "${1:-}" in
    "") make_tarball ;;
    check) check "${2:-unit}" ;;
    check-copy) check_copy "${2:-}" ;;
    *) echo "usage: $0 [check [unit|test] | check-copy [deb]]" >&2; exit 2 ;;
esac
