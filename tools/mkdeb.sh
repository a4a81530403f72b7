#!/bin/sh
# mkdeb.sh VERSION OUTDIR - `make deb`: build OUTDIR/hlsd_VERSION_ARCH.deb
# with dpkg-deb from the same `make install` as everyone else (PREFIX=/usr,
# SYSCONFDIR=/etc, the unit in /lib/systemd/system as Debian 12 wants it).
#
# - Depends: dpkg-shlibdeps on the two binaries (the packages that ship
#   the sonames they link), plus adduser for the postinst.
# - The hlsd system user is created by the postinst (adduser --system),
#   the configuration is a conffile, the unit is enabled but not started
#   (deb-systemd-helper), the init script registered (update-rc.d) but
#   not started either: the administrator reviews hlsd.conf first.
# - Binaries stripped, man pages and the changelog compressed, md5sums:
#   what lintian expects of a package.
# Run from the top of the tree (the Makefile does); MAKE and BINDIR come
# from the Makefile.
set -eu

version=$1
out=$2
: "${MAKE:=make}"
: "${BINDIR:=$PWD/bin}"
arch=$(dpkg --print-architecture)
deb="$out/hlsd_${version}_${arch}.deb"
# DEB_MAINTAINER="Name <address>" for a package of your own
maint=${DEB_MAINTAINER:-hlsd maintainers <maintainers@hlsd.example.org>}

work=$(mktemp -d "${TMPDIR:-/tmp}/hlsd-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

$MAKE --no-print-directory -s install NOBUILD=1 BINDIR="$BINDIR" DESTDIR="$root" \
    PREFIX=/usr SYSCONFDIR=/etc unitdir=/lib/systemd/system >/dev/null

# /etc/default/hlsd ships 0644 as lintian wants and is made 0600 by the
# postinst at the first install (it may come to hold credentials)
chmod 0644 "$root/etc/default/hlsd"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$root/usr/sbin/hlsd" "$root/usr/bin/hlsctl" "$root"/usr/lib/hlsd/*.so
gzip -9n "$root"/usr/share/man/man*/*
doc=$root/usr/share/doc/hlsd
date=$(date -R -u -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")
printf 'hlsd (%s) unstable; urgency=medium\n\n  * Built from the hlsd source tree (make deb).\n\n -- %s  %s\n' \
    "$version" "$maint" "$date" | gzip -9n >"$doc/changelog.gz"
cat >"$doc/copyright" <<EOC
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: hlsd
Source: the hlsd source tree

Files: *
Copyright: $(date -u +%Y) the hlsd authors
License: hlsd
 hlsd is distributed by its authors under the terms they chose; see the
 source tree it was built from.
EOC
chmod 0644 "$doc/changelog.gz" "$doc/copyright"

# Depends: the packages of the shared libraries the binaries link
mkdir -p "$work/src/debian"
printf 'Source: hlsd\n\nPackage: hlsd\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O -e"$root/usr/sbin/hlsd" -e"$root/usr/bin/hlsctl" \
    $(for so in "$root"/usr/lib/hlsd/*.so; do printf ' -e%s' "$so"; done) 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
if [ -z "$shlibs" ]; then
    echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2
    exit 1
fi

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOC
Package: hlsd
Version: $version
Architecture: $arch
Maintainer: $maint
Installed-Size: $size
Depends: $shlibs, adduser
Section: video
Priority: optional
Description: HTTP Live Streaming conversion and publishing daemon
 hlsd turns submitted video files into HTTP Live Streaming renditions
 (an H.264/AAC ladder in MPEG-TS segments with RFC 8216 playlists) and
 publishes them to an S3-compatible bucket or a local directory.
 .
 A master process forks conversion workers (FFmpeg libraries), upload
 workers (libcurl, S3 SigV4) and a control process; jobs are durable in
 an SQLite store and resume after a restart. hlsctl is the command-line
 client.
EOC
printf '/etc/default/hlsd\n/etc/hlsd/hlsd.conf\n/etc/init.d/hlsd\n' >"$root/DEBIAN/conffiles"

cat >"$root/DEBIAN/postinst" <<'EOC'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd hlsd >/dev/null; then
        adduser --system --group --home /var/lib/hlsd \
            --gecos "hlsd HLS conversion daemon" --shell /usr/sbin/nologin hlsd >/dev/null
    fi
    install -d -m 0750 -o hlsd -g hlsd /var/lib/hlsd /var/spool/hlsd
    # on the first install: the configuration may come to hold S3
    # secrets, so only root and the daemon's group read it
    if [ -z "$2" ]; then
        chgrp hlsd /etc/hlsd/hlsd.conf && chmod 0640 /etc/hlsd/hlsd.conf
        chmod 0600 /etc/default/hlsd
    fi
fi
if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] ||
    [ "$1" = abort-remove ]; then
    # enabled, not started: the administrator reviews hlsd.conf first
    if command -v deb-systemd-helper >/dev/null 2>&1; then
        deb-systemd-helper unmask hlsd.service >/dev/null || true
        if deb-systemd-helper --quiet was-enabled hlsd.service; then
            deb-systemd-helper enable hlsd.service >/dev/null || true
        else
            deb-systemd-helper update-state hlsd.service >/dev/null || true
        fi
    fi
    if [ -x /etc/init.d/hlsd ]; then
        update-rc.d hlsd defaults >/dev/null || exit 1
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
    fi
fi
exit 0
EOC

cat >"$root/DEBIAN/prerm" <<'EOC'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -x /etc/init.d/hlsd ]; then
    if [ -d /run/systemd/system ]; then
        deb-systemd-invoke stop hlsd.service >/dev/null || true
    else
        invoke-rc.d hlsd stop || exit 1
    fi
fi
exit 0
EOC

cat >"$root/DEBIAN/postrm" <<'EOC'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null 2>&1; then
    deb-systemd-helper mask hlsd.service >/dev/null || true
fi
if [ "$1" = purge ]; then
    update-rc.d hlsd remove >/dev/null
    if command -v deb-systemd-helper >/dev/null 2>&1; then
        deb-systemd-helper purge hlsd.service >/dev/null || true
        deb-systemd-helper unmask hlsd.service >/dev/null || true
    fi
    # the job store and the spool are the daemon's data: gone with purge
    rm -rf /var/lib/hlsd /var/spool/hlsd /run/hlsd
fi
exit 0
EOC
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\n' |
    LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
