#!/bin/sh
# Installs the build and test dependencies from Debian's packages; does
# nothing when they are all present. Enables deb-src entries (derived from the
# machine's own deb entries) when Debian's darknet source is not reachable.
set -eu
# g++: Darknet's own Makefile compiles src/image_opencv.cpp whatever OPENCV is
PKGS="gcc g++ make patch pkg-config dpkg-dev libstb-dev check libopenblas-dev zlib1g-dev dataset-fashion-mnist parallel"

command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 || {
    echo "deps: this installs Debian's packages with apt-get, which this system lacks; install the equivalents of:" \
        "$PKGS (and set DARKNET_SRC to a pjreddie/darknet checkout)" >&2
    exit 1
}

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: not root and no sudo: run 'make deps' as root" >&2; exit 1; }
    SUDO=sudo
fi

need_src=0
if [ ! -d build/darknet ] && ! ls build/darknet-srcpkg/darknet_*.dsc >/dev/null 2>&1; then
    apt-cache showsrc darknet 2>/dev/null | grep -q '^Package: darknet' || need_src=1
fi

if [ -z "$missing" ] && [ "$need_src" -eq 0 ]; then
    echo "deps: all present"
    exit 0
fi

if [ "$need_src" -eq 1 ]; then
    list=/etc/apt/sources.list.d/darknet-gradcam-src.sources
    if [ ! -f "$list" ]; then
        echo "deps: adding deb-src entries for Debian's darknet source package ($list)"
        tmp=$(mktemp)
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            grep -q '^Types:.*deb-src' "$f" && continue
            sed 's/^Types: deb$/Types: deb-src/' "$f" | grep -q '^Types: deb-src' || continue
            sed 's/^Types: deb$/Types: deb-src/' "$f" >>"$tmp"
            echo >>"$tmp"
        done
        if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
            grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
                $SUDO tee /etc/apt/sources.list.d/darknet-gradcam-src.list >/dev/null
        fi
        # readable by every user (mktemp's file is 0600: apt run as the user could not read the copy)
        [ -s "$tmp" ] && $SUDO install -m 644 "$tmp" "$list"
        rm -f "$tmp"
    fi
fi

$SUDO apt-get update -q
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
