#!/bin/sh
# Install test of the ntp-rs .deb, run by `cargo xtask deb --install-test` as root inside
# `unshare --mount`: the host's root filesystem is overlaid with a tmpfs (overlayfs) and every
# dpkg step runs chrooted into the overlay, so the host's package state (NTPsec installed by
# `cargo xtask setup`, which ntp-rs conflicts with and replaces) is never touched and nothing
# needs restoring: the overlay vanishes with the mount namespace.
#
# usage: install-test.sh DEB DEB_NEWER
set -eu

DEB=$1
DEB2=$2
WORK=$(mktemp -d /tmp/ntp-rs-install-test.XXXXXX)
ROOT=$WORK/root

fail() {
	echo "install-test: FAIL: $*" >&2
	exit 1
}

# On any exit: detach the overlay and everything under it, and remove the mount point (the
# only trace on the host's file system).
trap 'cd /; umount -R -l "$WORK" 2>/dev/null; rmdir "$WORK" 2>/dev/null' EXIT
mount -t tmpfs -o size=2g tmpfs "$WORK"
mkdir -p "$WORK/upper" "$WORK/work" "$ROOT"
mount -t overlay overlay -o "lowerdir=/,upperdir=$WORK/upper,workdir=$WORK/work" "$ROOT" ||
	fail "cannot mount an overlay over / (overlayfs and CAP_SYS_ADMIN needed)"
mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
mount --rbind /dev "$ROOT/dev"
# A fresh /run and /tmp: no systemd socket, so the scripts take the SysV path, which
# invoke-rc.d guards with policy-rc.d.
mount -t tmpfs tmpfs "$ROOT/run"
mount -t tmpfs tmpfs "$ROOT/tmp"
cp "$DEB" "$ROOT/tmp/ntp-rs.deb"
cp "$DEB2" "$ROOT/tmp/ntp-rs-newer.deb"

in_root() {
	chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# Nothing may start: every service start goes through policy-rc.d.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"

# Remember who owned the ntp user before, to check purge leaves the rest alone.
USER_BEFORE=$(in_root getent passwd ntp || true)

echo "install-test: dpkg -i (replaces any other time daemon)"
in_root dpkg -i /tmp/ntp-rs.deb
in_root dpkg-query -W -f='${Status}\n' ntp-rs | grep -qx 'install ok installed' || fail "not installed"
for other in ntpsec ntp chrony openntpd; do
	if in_root dpkg-query -W -f='${Status}\n' "$other" 2>/dev/null | grep -q ' installed$'; then
		fail "$other is still installed beside ntp-rs"
	fi
done

echo "install-test: installed files"
for f in /usr/sbin/ntpd /usr/bin/ntpq /usr/bin/ntpdc /usr/sbin/ntpdate /etc/init.d/ntpd; do
	[ -x "$ROOT$f" ] || fail "$f missing or not executable"
done
for f in /etc/ntp.conf /lib/systemd/system/ntpd.service /etc/logrotate.d/ntp-rs \
	/usr/share/man/man8/ntpd.8.gz /usr/share/man/man5/ntp.conf.5.gz \
	/usr/share/man/man5/ntp.keys.5.gz /usr/share/man/man1/ntpq.1.gz \
	/usr/share/man/man1/ntpdc.1.gz /usr/share/man/man8/ntpdate.8.gz \
	/usr/share/bash-completion/completions/ntpq /usr/share/zsh/vendor-completions/_ntpd; do
	[ -f "$ROOT$f" ] || fail "$f missing"
done
in_root getent passwd ntp >/dev/null || fail "no ntp user"
for d in /var/lib/ntp /var/log/ntpstats; do
	[ "$(in_root stat -c %U "$d")" = ntp ] || fail "$d not owned by ntp"
done
[ -e "$ROOT/run/ntpd.pid" ] && fail "ntpd was started although policy-rc.d forbids it"

echo "install-test: the installed binaries run"
in_root /usr/sbin/ntpd --version
in_root /usr/sbin/ntpd --check-config -c /etc/ntp.conf
in_root /usr/bin/ntpq --help >/dev/null
in_root /usr/sbin/ntpdate --help 2>&1 | grep -q "^usage:" || fail "ntpdate prints no usage"

echo "install-test: man pages render from the installed package"
for page in ntpd ntp.conf ntp.keys ntpq ntpdc ntpdate; do
	out=$(in_root env MANWIDTH=80 man -P cat "$page" 2>&1) || fail "man $page: $out"
	echo "$out" | grep -q NAME || fail "man $page renders no NAME section"
done

echo "install-test: reinstall and upgrade keep a modified conffile"
echo "# local change kept by upgrades" >>"$ROOT/etc/ntp.conf"
in_root dpkg -i /tmp/ntp-rs.deb
grep -q "local change kept" "$ROOT/etc/ntp.conf" || fail "reinstall replaced the modified /etc/ntp.conf"
in_root dpkg -i /tmp/ntp-rs-newer.deb
grep -q "local change kept" "$ROOT/etc/ntp.conf" || fail "upgrade replaced the modified /etc/ntp.conf"
[ -e "$ROOT/etc/ntp.conf.dpkg-new" ] && fail "upgrade left ntp.conf.dpkg-new for an unchanged conffile"
in_root /usr/sbin/ntpd --check-config -c /etc/ntp.conf

echo "install-test: the daemon's files, as a running ntpd would leave them"
echo "12.345" >"$ROOT/var/lib/ntp/ntp.drift"
echo "60000 0.0 0.0" >"$ROOT/var/log/ntpstats/loopstats"
# logrotate is not part of a minimal system: install it in the overlay only.
if ! in_root sh -c 'command -v logrotate' >/dev/null; then
	in_root apt-get install -y -qq --no-install-recommends logrotate >/dev/null ||
		fail "cannot install logrotate in the overlay"
fi
in_root logrotate -d /etc/logrotate.d/ntp-rs >"$WORK/logrotate.out" 2>&1 ||
	{ cat "$WORK/logrotate.out"; fail "logrotate rejects /etc/logrotate.d/ntp-rs"; }
grep -qi "error" "$WORK/logrotate.out" && { cat "$WORK/logrotate.out"; fail "logrotate reports errors"; }

echo "install-test: remove keeps conffiles and the user"
in_root dpkg -r ntp-rs
for f in /usr/sbin/ntpd /usr/bin/ntpq /usr/bin/ntpdc /usr/sbin/ntpdate /lib/systemd/system/ntpd.service; do
	[ -e "$ROOT$f" ] && fail "$f left after remove"
done
[ -f "$ROOT/etc/ntp.conf" ] || fail "remove deleted the conffile /etc/ntp.conf"

echo "install-test: purge leaves nothing of ours behind"
in_root dpkg -P ntp-rs
for f in /etc/ntp.conf /etc/init.d/ntpd /etc/logrotate.d/ntp-rs /var/lib/ntp /var/log/ntpstats \
	/var/lib/ntp-rs /etc/rc2.d/S01ntpd /etc/systemd/system/multi-user.target.wants/ntpd.service; do
	[ -e "$ROOT$f" ] && fail "$f left after purge"
done
ls "$ROOT"/etc/rc?.d 2>/dev/null | grep -q ntpd && fail "SysV links left after purge"
if [ -z "$USER_BEFORE" ]; then
	in_root getent passwd ntp >/dev/null && fail "purge left the ntp user it created"
	in_root getent group ntp >/dev/null && fail "purge left the ntp group it created"
fi
if in_root dpkg-query -W -f='${Status}\n' ntp-rs 2>/dev/null | grep -qv 'not-installed$'; then
	fail "dpkg still knows ntp-rs after purge"
fi
# Every path the package shipped is gone (directories shared with the system excepted).
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' | while read -r p; do
	case "$p" in */) continue ;; esac
	[ -e "$ROOT$p" ] && fail "$p left after purge"
	true
done

echo "install-test: again as on a systemd host: the unit is enabled, not started"
mkdir -p "$ROOT/run/systemd/system"
in_root dpkg -i /tmp/ntp-rs.deb >"$WORK/systemd.out" 2>&1 || { cat "$WORK/systemd.out"; fail "dpkg -i (systemd)"; }
grep -q "policy-rc.d returned 101" "$WORK/systemd.out" || { cat "$WORK/systemd.out"; fail "deb-systemd-invoke did not ask policy-rc.d"; }
[ -L "$ROOT/etc/systemd/system/multi-user.target.wants/ntpd.service" ] || fail "ntpd.service not enabled"
[ -e "$ROOT/run/ntpd/ntpd.pid" ] && fail "ntpd was started although policy-rc.d forbids it"
in_root dpkg -P ntp-rs
[ -e "$ROOT/etc/systemd/system/multi-user.target.wants/ntpd.service" ] && fail "unit still enabled after purge"
[ -e "$ROOT/etc/systemd/system/ntp.service" ] && fail "ntp.service alias left after purge"
in_root getent passwd ntp >/dev/null && [ -z "$USER_BEFORE" ] && fail "ntp user left after the second purge"

echo "install-test: passed"
