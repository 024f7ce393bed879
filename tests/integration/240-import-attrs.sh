#!/bin/sh
# Extended attributes (file capabilities) and setuid/setgid/sticky bits
# survive the import, from archives vf-mkarchive writes and from GNU tar
# --xattrs on files setcap(8) labelled; xattrs come out sorted by name.
. tests/integration/lib.sh
set -eu

MK="$VF_BUILD/tools/vf-mkarchive"
[ -x "$MK" ] || fail "missing $MK (make integration)"
STORE=$TMP/store
mkdir "$STORE"
# cap_net_raw+ep as the kernel stores it (VFS_CAP_REVISION_2, effective)
CAP=0100000200200000000000000000000000000000

"$MK" "$TMP/caps.tar" pax zstd <<EOF
xattr user.zz 7a7a
xattr security.capability $CAP
xattr trusted.md5 00ff
file usr/bin/ping 4711 0 0 1 ping
file usr/bin/wall 2755 0 5 1 wall
dir tmp 1777 0 0 1
xattr security.selinux 73797374656d5f753a6f626a6563745f723a746d705f743a733000
dir var/tmp 1777 0 0 1
EOF
expect_exit 0 "$MK" import "$STORE" "p=$TMP/caps.tar"
expect_out "/usr/bin/ping file 4711 0:0 1 size=4 sha256=$(printf ping | sha256sum | cut -d' ' -f1)"
expect_out " xattr:security.capability=$CAP xattr:trusted.md5=00ff xattr:user.zz=7a7a origin=p"
expect_out "/usr/bin/wall file 2755 0:5 1 "
expect_out "/tmp dir 1777 0:0 1 origin=p"
expect_out "/var/tmp dir 1777 0:0 1 xattr:security.selinux=73797374656d5f753a6f626a6563745f723a746d705f743a733000 origin=p"

# an xattr named twice with different values, or too large, is refused
"$MK" "$TMP/dup.tar" pax none <<EOF
xattr user.a 01
xattr user.a 02
file f 0644 0 0 0 f
EOF
expect_exit 1 "$MK" import "$STORE" "p=$TMP/dup.tar"
expect_err "package 'p': entry 'f': xattr 'user.a' appears twice with different values"
"$MK" "$TMP/huge.tar" pax none <<EOF
xattr user.huge $(head -c 65537 /dev/zero | od -An -v -tx1 | tr -d ' \n')
file f 0644 0 0 0 f
EOF
expect_exit 1 "$MK" import "$STORE" "p=$TMP/huge.tar"
expect_err "package 'p': entry 'f': xattr 'user.huge' is 65537 bytes, more than 65536"

# GNU tar --xattrs, from real files
command -v setcap >/dev/null 2>&1 || skip "setcap is not installed"
need tar
SRC=$TMP/src
mkdir -p "$SRC/bin"
printf 'ping\n' >"$SRC/bin/ping"
printf 'su\n' >"$SRC/bin/su"
chmod 0755 "$SRC/bin/ping"
chmod 4755 "$SRC/bin/su"
if ! setcap cap_net_raw+ep "$SRC/bin/ping" 2>"$TMP/setcap.err"; then
	skip "setcap cannot label files here: $(cat "$TMP/setcap.err")"
fi
stored=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "security.capability").hex())' \
	"$SRC/bin/ping" 2>/dev/null || echo "$CAP")
tar --xattrs --xattrs-include='*' --format=pax -C "$SRC" -cf "$TMP/gnu.tar" .
expect_exit 0 "$MK" import "$STORE" "gnu=$TMP/gnu.tar"
expect_out "/bin/ping file 0755 0:0 "
expect_out " xattr:security.capability=$stored origin=gnu"
expect_out "/bin/su file 4755 0:0 "
echo "xattrs and mode bits survive the import"
