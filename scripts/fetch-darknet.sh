#!/bin/sh
# Puts a copy of Darknet's source, with the PATCHes applied, in DEST.
#   fetch-darknet.sh DEST VERSION [CHECKOUT] PATCH...
# CHECKOUT empty: Debian's `darknet` source package of upstream VERSION
# (cached beside DEST, so a rebuild needs no network); otherwise a copy of the
# user's own pjreddie/darknet checkout (never patched in place).
# With no PATCH the copy is stock Darknet (the Makefile's build/darknet-stock,
# the reference for the equality test and `make bench`). Two copies may be
# made at once from one cached package: each unpacks into its own folder.
set -eu
dest=$1 version=$2 checkout=$3 unpacked=
shift 3

die() { echo "fetch-darknet: $*" >&2; rm -rf "$dest.tmp" ${unpacked:+"$unpacked"}; exit 1; }

mkdir -p "$(dirname "$dest")"
rm -rf "$dest" "$dest.tmp"
mkdir -p "$dest.tmp"

[ $# -eq 0 ] || command -v patch >/dev/null || die "patch not found: run 'make deps' (installs patch)"

if [ -n "$checkout" ]; then
    if [ -f "$checkout/src/darknet.c" ] && [ ! -d "$checkout/examples" ]; then
        die "DARKNET_SRC=$checkout looks like AlexeyAB's fork (src/darknet.c, no examples/): darknet-gradcam patches pjreddie's Darknet (2018-09-14, Debian's darknet source package); leave DARKNET_SRC unset to use Debian's"
    fi
    [ -f "$checkout/src/network.c" ] && [ -f "$checkout/examples/darknet.c" ] ||
        die "DARKNET_SRC=$checkout is not a pjreddie/darknet checkout (no src/network.c or examples/darknet.c)"
    (cd "$checkout" && tar cf - --exclude=.git --exclude=./obj --exclude='*.o' \
        --exclude='./libdarknet.*' --exclude=./darknet .) | (cd "$dest.tmp" && tar xf -)
    origin="DARKNET_SRC=$checkout"
else
    pkg="$(cd "$(dirname "$dest")" && pwd)/darknet-srcpkg"
    mkdir -p "$pkg"
    dsc=$(ls "$pkg"/darknet_"$version"-*.dsc 2>/dev/null | tail -n 1 || true)
    if [ -z "$dsc" ]; then
        command -v apt-get >/dev/null || die "apt-get not found: set DARKNET_SRC to a Darknet checkout"
        command -v dpkg-source >/dev/null || die "dpkg-source not found: run 'make deps' (installs dpkg-dev)"
        echo "fetch-darknet: downloading Debian's darknet source package" >&2
        # into a folder of its own, moved into the cache only once whole: apt
        # writes the .dsc first, and a download stopped halfway (Ctrl-C, a
        # lost connection) had left it beside a partial tarball, which every
        # later make took for the cached package and failed to unpack
        dl="$pkg/download.tmp"
        rm -rf "$dl"
        mkdir -p "$dl"
        if ! (cd "$dl" && apt-get source -q --download-only darknet >/dev/null 2>"$pkg/apt.log"); then
            rm -rf "$dl"
            die "'apt-get source darknet' failed (see $pkg/apt.log): run 'make deps' to add a deb-src entry, or set DARKNET_SRC to a Darknet checkout"
        fi
        for f in "$dl"/*; do # the .dsc last
            case $f in *.dsc) ;; *) [ ! -f "$f" ] || mv -f "$f" "$pkg"/ ;; esac
        done
        for f in "$dl"/*.dsc; do
            [ ! -f "$f" ] || mv -f "$f" "$pkg"/
        done
        rm -rf "$dl"
        dsc=$(ls "$pkg"/darknet_"$version"-*.dsc 2>/dev/null | tail -n 1 || true)
        [ -n "$dsc" ] || die "Debian's darknet source package is not version $version (got: $(ls "$pkg" | grep '\.dsc$' | tr '\n' ' '))"
    fi
    # inside the cache (dpkg-source links the tarballs beside its target)
    unpacked="$pkg/unpacked-$(basename "$dest")"
    rm -rf "$unpacked"
    dpkg-source -q -x "$dsc" "$unpacked" >"$pkg/dpkg-source.log" 2>&1 ||
        die "dpkg-source could not unpack $dsc (remove $pkg to download it again): $(tail -n 3 "$pkg/dpkg-source.log" | tr '\n' ' ')"
    (cd "$unpacked" && tar cf - --exclude=./debian --exclude=./.pc .) | (cd "$dest.tmp" && tar xf -)
    rm -rf "$unpacked"
    origin="Debian source package darknet $version"
fi

for p in "$@"; do
    why=$(patch -d "$dest.tmp" -p1 --forward --batch --dry-run <"$p" 2>&1) ||
        die "patch $p does not apply to $origin (an already patched tree, or another Darknet): $(printf '%s' "$why" | tail -n 3 | tr '\n' ' ')"
    patch -d "$dest.tmp" -p1 --forward --batch -s <"$p" >/dev/null
done
mv "$dest.tmp" "$dest"
if [ $# -eq 0 ]; then
    echo "fetch-darknet: $origin, unpatched (stock), in $dest" >&2
else
    echo "fetch-darknet: $origin, $# patches applied, in $dest" >&2
fi
