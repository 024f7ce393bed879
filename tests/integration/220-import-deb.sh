#!/bin/sh
# A real .deb built with dpkg-deb imports with its files, modes and numeric
# owners (every compression dpkg-deb writes), only data.tar.* is read, and
# its maintainer script never runs. Hostile .debs are refused.
. tests/integration/lib.sh
set -eu

need dpkg-deb
need ar
MK="$VF_BUILD/tools/vf-mkarchive"
[ -x "$MK" ] || fail "missing $MK (make integration)"
STORE=$TMP/store
MARKER=$TMP/postinst-ran
mkdir "$STORE"

# --- build a package ---------------------------------------------------------
P=$TMP/pkg
mkdir -p "$P/DEBIAN" "$P/usr/bin" "$P/usr/share/doc/demo" "$P/etc/demo" "$P/var/lib/demo"
cat >"$P/DEBIAN/control" <<EOF
Package: demo
Version: 1.0
Architecture: all
Maintainer: vforge tests <tests@example.invalid>
Description: vforge import test package
EOF
cat >"$P/DEBIAN/postinst" <<EOF
#!/bin/sh
touch "$MARKER"
EOF
chmod 0755 "$P/DEBIAN/postinst"
printf '#!/bin/sh\necho demo\n' >"$P/usr/bin/demo"
printf 'suid\n' >"$P/usr/bin/demo-suid"
printf 'key=value\n' >"$P/etc/demo/demo.conf"
printf 'copyright\n' >"$P/usr/share/doc/demo/copyright"
ln -s demo "$P/usr/bin/demo-link"
ln "$P/usr/bin/demo" "$P/usr/bin/demo-hardlink"
# owners first: chown clears setuid bits
chown -R 0:0 "$P"
chown 1000:1000 "$P/var/lib/demo"
chgrp 42 "$P/etc/demo/demo.conf"
chmod 0755 "$P/usr/bin/demo" "$P/usr/bin"
chmod 4755 "$P/usr/bin/demo-suid"
chmod 0640 "$P/etc/demo/demo.conf"
chmod 0700 "$P/var/lib/demo"
find "$P" -exec touch -h -d @1650000000 {} +

for z in xz gzip zstd none; do
	dpkg-deb -Z"$z" --build "$P" "$TMP/demo-$z.deb" >/dev/null 2>"$TMP/dpkg.err" || {
		[ "$z" = zstd ] && continue # older dpkg-deb: no zstd
		cat "$TMP/dpkg.err"; fail "dpkg-deb -Z$z failed"
	}
	expect_exit 0 "$MK" import "$STORE" "demo=$TMP/demo-$z.deb"
	[ -n "${REF:-}" ] || { REF=$TMP/ref; cp "$TMP/out" "$REF"; }
	diff -u "$REF" "$TMP/out" >&2 || fail "the $z .deb imports differently"
done
[ ! -e "$MARKER" ] || fail "the postinst script ran"
sha() { printf "$1" | sha256sum | cut -d' ' -f1; }
expect_out "/usr/bin/demo file 0755 0:0 1650000000 size=20 sha256=$(sha '#!/bin/sh\necho demo\n') origin=demo"
expect_out "/usr/bin/demo-suid file 4755 0:0 1650000000 size=5 "
expect_out "/usr/bin/demo-link symlink 0777 0:0 1650000000 -> demo origin=demo"
expect_out "/usr/bin/demo-hardlink hardlink 0755 0:0 1650000000 -> usr/bin/demo origin=demo"
expect_out "/etc/demo/demo.conf file 0640 0:42 1650000000 size=10 "
expect_out "/var/lib/demo dir 0700 1000:1000 1650000000 origin=demo"
expect_out "/usr/share/doc/demo/copyright file 0644 0:0 1650000000"
grep -q 'postinst\|control\|DEBIAN' "$TMP/out" && fail "control.tar was imported"
# root; etc, etc/demo + 1; usr, usr/bin + 4; usr/share/doc/demo (3) + 1; var/lib/demo (3)
[ "$(wc -l <"$TMP/out")" = 17 ] || { cat "$TMP/out"; fail "expected 17 entries"; }
grep -q '^/ dir 0755 0:0 0 origin=manifest$' "$TMP/out" || fail "the .deb's ./ changed the root"

# --- hostile .debs, assembled with ar(1) from parts made by vf-mkarchive ---------
cd "$TMP"
printf '2.0\n' >debian-binary
ar x "$TMP/demo-xz.deb" control.tar.xz
"$MK" data.tar.xz gnutar xz <<EOF
dir ./ 0755 0 0 0
file ./usr/bin/ok 0755 0 0 0 ok
file ./../../etc/cron.d/evil 0644 0 0 0 * * * * * root sh
EOF
ar rc evil.deb debian-binary control.tar.xz data.tar.xz
expect_exit 1 "$MK" import "$STORE" "evil=$TMP/evil.deb"
expect_err "package 'evil': entry './../../etc/cron.d/evil': path escapes the root"

"$MK" data.tar.xz gnutar xz <<EOF
symlink ./etc /etc
file ./etc/cron.d/evil 0644 0 0 0 * * * * * root sh
EOF
rm -f evil.deb
ar rc evil.deb debian-binary control.tar.xz data.tar.xz
expect_exit 1 "$MK" import "$STORE" "evil=$TMP/evil.deb"
expect_err "package 'evil': entry './etc/cron.d/evil': 'etc' is a symlink (from package 'evil'), not a directory"

"$MK" data.tar.xz gnutar xz <<EOF
file ./usr/bin/ok 0755 0 0 0 ok
EOF
rm -f evil.deb
ar rc evil.deb debian-binary control.tar.xz
expect_exit 1 "$MK" import "$STORE" "evil=$TMP/evil.deb"
expect_err "package 'evil': no data.tar member in the .deb"

cp data.tar.xz data.tar.gz
rm -f evil.deb
ar rc evil.deb debian-binary control.tar.xz data.tar.xz data.tar.gz
expect_exit 1 "$MK" import "$STORE" "evil=$TMP/evil.deb"
expect_err "package 'evil': a second data member 'data.tar.gz' in a .deb"

rm -f evil.deb
ar rc evil.deb control.tar.xz data.tar.xz
expect_exit 1 "$MK" import "$STORE" "evil=$TMP/evil.deb"
expect_err "not a Debian package: an ar archive whose first member is 'control.tar.xz', not 'debian-binary'"

printf '3.0\n' >debian-binary
rm -f evil.deb
ar rc evil.deb debian-binary control.tar.xz data.tar.xz
expect_exit 1 "$MK" import "$STORE" "evil=$TMP/evil.deb"
expect_err "unsupported .deb format version '3.0' (expected 2.x)"

# a truncated .deb
size=$(stat -c %s "$TMP/demo-xz.deb")
head -c $((size - 100)) "$TMP/demo-xz.deb" >cut.deb
expect_exit 1 "$MK" import "$STORE" "demo=$TMP/cut.deb"
expect_err "package 'demo': "
[ ! -e "$MARKER" ] || fail "the postinst script ran"
! ls -A "$STORE" | grep -v '^[0-9a-f]\{64\}$' || fail "stray files in the store"
echo "the .deb imported; its maintainer script never ran"
