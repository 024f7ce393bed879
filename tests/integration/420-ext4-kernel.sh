#!/bin/sh
# ext4 writer, checked by the Linux kernel itself (root only: skipped unless a
# read-only loop mount works): the fixed test image mounts, every name is
# found through the kernel's htree lookup, stat/readlink/xattrs/devices/holes
# read back as written and file content equals what debugfs dumps. The
# journal variant mounts read-write, takes new files and a removal, and
# unmounts clean (e2fsck -fn).
. tests/integration/lib.sh
set -eu
need e2fsck
need debugfs
need python3

EMIT="$VF_BUILD/tests/unit/ext4/test_determinism"
[ -x "$EMIT" ] || skip "$EMIT is not built (make BUILD=... unit)"
[ "$(id -u)" = 0 ] || skip "needs root for loop mounts"

M="$TMP/mnt"
mkdir "$M"
"$EMIT" --emit "$TMP/ro.img" || fail "image not written"
mount -o loop,ro "$TMP/ro.img" "$M" 2>"$TMP/mount.err" || skip "loop mount unavailable: $(cat "$TMP/mount.err")"
trap 'umount "$M" 2>/dev/null || true; rm -rf "$TMP"' EXIT

# --- every entry: the typical tree (28 entries with lost+found), 3,000 symlinks, the root
n=$(find "$M" | wc -l)
[ "$n" = 3031 ] || fail "the kernel sees $n entries, want 3031"
# every one of the 3,000 names resolves through the htree (stat looks each name up)
find "$M/usr/share/many" -type l | while read -r l; do stat -c %i "$l"; done >"$TMP/inos"
[ "$(sort -u "$TMP/inos" | wc -l)" = 3000 ] || fail "htree lookups failed"
[ "$(readlink "$M/usr/share/many/n0042")" = share/many/n0042 ] || fail "symlink target"
[ "$(readlink "$M/lib/slow60" | wc -c)" = 61 ] || fail "slow symlink"
[ "$(readlink "$M/lib/slow4095" | wc -c)" = 4096 ] || fail "4095-byte symlink"

# --- inode fields as the kernel reports them (times: atime, ctime, birth = the timestamp)
st() { stat -c "$2" "$M/$1"; }
[ "$(st usr/bin/su '%a %u %g %s %h %Y %X %Z %W')" = "4755 0 0 5000 2 1699999927 1700000000 1700000000 1700000000" ] ||
	fail "usr/bin/su: $(st usr/bin/su '%a %u %g %s %h %Y %X %Z %W')"
[ "$(st usr/bin/su %i)" = "$(st usr/bin/passwd %i)" ] || fail "hardlink is not the same inode"
[ "$(st home/user/big.bin '%a %u %g %s')" = "600 100000 100001 300001" ] || fail "high uid/gid"
[ "$(st tmp %a)" = 1777 ] || fail "sticky bit"
[ "$(st usr/bin/wall %a)" = 2755 ] || fail "setgid bit"
[ "$(st dev/null '%F %t:%T')" = "character special file 1:3" ] || fail "dev/null"
[ "$(st dev/sda '%F %t:%T')" = "block special file 8:0" ] || fail "dev/sda"
[ "$(st dev/big '%t:%T')" = "12c:11170" ] || fail "dev/big (300:70000)"
[ "$(st dev/fifo %F)" = fifo ] || fail "fifo"
[ "$(st run/sock %F)" = socket ] || fail "socket"
[ "$(st lost+found '%a %i')" = "700 11" ] || fail "lost+found"
[ "$(st var/zero '%s %b')" = "1048576 0" ] || fail "hole: $(st var/zero '%s %b')"
[ "$(st var/ends %b)" = 16 ] || fail "two blocks at the ends: $(st var/ends %b)"

# --- content: the kernel's read equals debugfs's dump
for f in usr/bin/su home/user/big.bin var/ends etc/shadow; do
	debugfs -R "dump $f $TMP/dumped" "$TMP/ro.img" >/dev/null 2>&1
	cmp -s "$TMP/dumped" "$M/$f" || fail "$f: kernel and debugfs disagree"
done

# --- xattrs through the kernel's getxattr
python3 - "$M" <<'PY' || fail "xattrs"
import os, sys
m = sys.argv[1]
def want(path, name, value):
    got = os.getxattr(os.path.join(m, path), name, follow_symlinks=False)
    assert got == value, (path, name, got)
want("usr/bin/su", "security.selinux", b"system_u:object_r:su_exec_t:s0\0")
want("usr/bin/su", "user.note", b"set-uid")
want("usr/bin/su", "trusted.md5", b"0123456789abcdef")
want("usr/bin/su", "security.capability", bytes([1, 0, 0, 2, 0, 0x20]) + bytes(14))
want("etc", "security.selinux", b"system_u:object_r:etc_t:s0\0")
want("dev/null", "security.selinux", b"system_u:object_r:null_device_t:s0\0")
acl = os.getxattr(os.path.join(m, "etc/shadow"), "system.posix_acl_access")
assert acl[:4] == bytes([2, 0, 0, 0]) and len(acl) == 44, acl
PY
umount "$M"

# --- the journal variant takes writes and stays consistent
"$EMIT" --emit-journal "$TMP/rw.img" || fail "journal image not written"
mount -o loop "$TMP/rw.img" "$M" || fail "read-write mount failed"
mkdir "$M/new"
head -c 3000000 /dev/urandom >"$M/new/data"
rm "$M/usr/bin/passwd" "$M/usr/share/many/n0001"
cp "$M/new/data" "$TMP/data"
umount "$M"
e2fsck -fn "$TMP/rw.img" >"$TMP/fsck" 2>&1 || { cat "$TMP/fsck"; fail "e2fsck after kernel writes"; }
debugfs -R "dump new/data $TMP/back" "$TMP/rw.img" >/dev/null 2>&1
cmp -s "$TMP/data" "$TMP/back" || fail "data written by the kernel reads back differently"
echo ok
