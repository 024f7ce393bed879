#!/bin/sh
# Hostile package archives: each is refused with a message naming the package
# and the entry, nothing is written anywhere but the content store (not
# through symlinks, not at absolute paths, no temporary files left), and
# truncated or corrupt archives fail cleanly.
. tests/integration/lib.sh
set -eu

MK="$VF_BUILD/tools/vf-mkarchive"
[ -x "$MK" ] || fail "missing $MK (make integration)"
W=$TMP/w
STORE=$W/store
mkdir -p "$W" "$STORE"
# a marker directory outside the tree that hostile entries aim at
TARGET=$TMP/target
mkdir "$TARGET"
: >"$TMP/out"
: >"$TMP/err"

# snapshot / clean: only content files (64 hex digits) may appear, only in the store
snapshot() { BEFORE=$(cd "$TMP" && find . -path ./w/store -prune -o -print | LC_ALL=C sort); }
clean() {
	_now=$(cd "$TMP" && find . -path ./w/store -prune -o -print | LC_ALL=C sort)
	[ "$_now" = "$BEFORE" ] || fail "files appeared outside the store: $(echo "$_now" | tr '\n' ' ')"
	! ls -A "$STORE" | grep -v '^[0-9a-f]\{64\}$' || fail "stray files in the store: $(ls -A "$STORE")"
	[ -z "$(ls -A "$TARGET")" ] || fail "something was written to $TARGET"
}

# refused NAME FORMAT MESSAGE [IMPORT-OPTIONS...] < spec: building NAME from the
# spec and importing it as package 'evil' fails with MESSAGE on stderr
refused() {
	_name=$1 _fmt=$2 _msg=$3
	shift 3
	"$MK" "$W/$_name" "$_fmt" gzip
	snapshot
	expect_exit 1 "$MK" import "$@" "$STORE" "evil=$W/$_name"
	expect_err "vf-mkarchive: error: package 'evil': "
	expect_err "$_msg"
	[ ! -s "$TMP/out" ] || fail "a refused import printed a tree"
	clean
	rm -f "$W/$_name"
}

refused dotdot pax "package 'evil': entry '../etc/passwd': path escapes the root" <<EOF
file ok 0644 0 0 0 fine
file ../etc/passwd 0644 0 0 0 root::0:0::/:/bin/sh
EOF
refused dotdot-deep pax "package 'evil': entry 'a/b/../../../x': path escapes the root" <<EOF
file a/b/../../../x 0644 0 0 0 x
EOF
refused dotdot-raw gnutar "package 'evil': entry '../../x': path escapes the root" <<EOF
raw-name-hex 2e2e2f2e2e2f78
file ignored 0644 0 0 0 x
EOF
refused through-symlink pax "package 'evil': entry 'lib/pwned': 'lib' is a symlink (from package 'evil'), not a directory" <<EOF
symlink lib $TARGET
file lib/pwned 0644 0 0 0 pwned
EOF
refused through-symlink-dir pax "'escape' is a symlink (from package 'evil'), not a directory" <<EOF
symlink escape ../../../../../../$TARGET
dir escape/sub 0755 0 0 0
EOF
refused below-file pax "package 'evil': entry 'etc/passwd/y': 'etc/passwd' is a file (from package 'evil'), not a directory" <<EOF
file etc/passwd 0644 0 0 0 x
file etc/passwd/y 0644 0 0 0 y
EOF
refused hardlink-missing pax "package 'evil': hardlink 'x' points to 'etc/shadow', which is not in the tree" <<EOF
hardlink x etc/shadow
EOF
refused hardlink-host pax "package 'evil': hardlink 'x' points to '/etc/shadow', which is not in the tree" <<EOF
hardlink x /etc/shadow
EOF
refused hardlink-dir pax "package 'evil': hardlink 'x' points to 'etc', which is a directory, not a regular file" <<EOF
dir etc 0755 0 0 0
hardlink x etc
EOF
refused hardlink-symlink pax "package 'evil': hardlink 'x' points to 's', which is a symlink, not a regular file" <<EOF
symlink s $TARGET/f
hardlink x s
EOF
refused hardlink-escape pax "package 'evil': hardlink 'x' points to '../../etc/shadow': path escapes the root" <<EOF
hardlink x ../../etc/shadow
EOF
refused char-device pax "package 'evil': device node 'dev/sda' is not allowed: set allow_devices for package 'evil'" <<EOF
char dev/sda 8 0
EOF
refused block-device gnutar "package 'evil': device node 'dev/sdb' is not allowed" <<EOF
block dev/sdb 8 16
EOF
refused socket cpio "package 'evil': socket 'run/sock' is not allowed" <<EOF
socket run/sock
EOF
refused empty-symlink pax "package 'evil': symlink 's' has an empty target" <<EOF
symlink s \x00
EOF
refused long-name pax "package 'evil': entry 'aaaa" <<EOF
file $(printf 'a%.0s' $(seq 1 200))/$(printf 'b/%.0s' $(seq 1 2000))c 0644 0 0 0 x
EOF
refused long-name-msg pax "bytes long, more than 4095" <<EOF
file $(printf 'a/%.0s' $(seq 1 2100))c 0644 0 0 0 x
EOF
refused long-component pax "path component is 256 bytes long, more than 255" <<EOF
file $(printf 'c%.0s' $(seq 1 256)) 0644 0 0 0 x
EOF
refused long-target pax "package 'evil': symlink 's': target is 4096 bytes long, more than 4095" <<EOF
symlink s $(printf 't%.0s' $(seq 1 4096))
EOF
refused uid-range pax "package 'evil': entry 'f': uid 4294967295 is out of range" <<EOF
file f 0644 4294967295 0 0 x
EOF
refused too-many pax "package 'evil': entry 'f6': too many entries: the limit is 6" --max-entries=6 <<EOF
file f1 0644 0 0 0 1
file f2 0644 0 0 0 2
file f3 0644 0 0 0 3
file f4 0644 0 0 0 4
file f5 0644 0 0 0 5
file f6 0644 0 0 0 6
file f7 0644 0 0 0 7
EOF
refused too-big pax "package 'evil': entry 'big': file is 2000000 bytes, more than the limit of 1000000 bytes" \
	--max-entry-size=1000000 <<EOF
big big 2000000
EOF
refused too-much pax "package 'evil': entry 'c': distinct contents exceed the limit of 1000 bytes in total" \
	--max-total=1000 <<EOF
big a 400
file b 0644 0 0 0 same
big c 700
EOF

# the same entries are fine where they are legitimate
"$MK" "$W/ok" pax gzip <<EOF
file /etc/passwd 0644 0 0 0 root:x:0:0::/root:/bin/sh\n
char dev/null 1 3 0666 0 0 0
fifo run/initctl
symlink lib usr/lib
hardlink etc/passwd-hl etc/passwd
EOF
sum=$(sha256sum </etc/passwd)
snapshot
expect_exit 0 "$MK" import --allow-devices "$STORE" "ok=$W/ok"
expect_out "/etc/passwd file 0644 0:0 0 size=26 sha256=$(printf 'root:x:0:0::/root:/bin/sh\n' | sha256sum | cut -d' ' -f1) origin=ok"
expect_out "/dev/null char 0666 0:0 0 rdev=1:3 origin=ok"
expect_out "/run/initctl fifo 0644 0:0 0 origin=ok"
expect_out "/etc/passwd-hl hardlink 0644 0:0 0 -> etc/passwd origin=ok"
[ "$(sha256sum </etc/passwd)" = "$sum" ] || fail "the host's /etc/passwd changed"
clean

# --- two packages: conflicts, identical duplicates, override ------------------
"$MK" "$W/a" pax xz <<EOF
file usr/bin/tool 0755 0 0 0 tool from a
file usr/share/common 0644 0 0 0 same
dir etc 0755 0 0 0
EOF
"$MK" "$W/b" cpio zstd <<EOF
file usr/bin/tool 0755 0 0 0 tool from b
file usr/share/common 0644 0 0 99 same
dir etc 0755 0 0 0
EOF
"$MK" "$W/c" pax none <<EOF
file etc 0644 0 0 0 not a directory
EOF
snapshot
expect_exit 1 "$MK" import "$STORE" "a=$W/a" "b=$W/b"
expect_err "vf-mkarchive: error: package 'b': entry 'usr/bin/tool': conflicts with package 'a' (content differs)"
clean
expect_exit 0 "$MK" import "$STORE" "a=$W/a" --override "b=$W/b"
expect_out "/usr/bin/tool file 0755 0:0 0 size=11 sha256=$(printf 'tool from b' | sha256sum | cut -d' ' -f1) origin=b"
expect_out "/usr/share/common file 0644 0:0 0 size=4 "
grep -q '^/usr/share/common .* origin=a$' "$TMP/out" || fail "an identical duplicate changed its origin"
expect_exit 1 "$MK" import "$STORE" "a=$W/a" "c=$W/c"
expect_err "package 'c': entry 'etc': conflicts with package 'a' (type differs: directory in 'a', file in 'c')"
clean

# --- the pin ---------------------------------------------------------------------
good=$(sha256sum <"$W/a" | cut -d' ' -f1)
bad=$(printf '%064d' 0)
expect_exit 0 "$MK" import "$STORE" --sha256="$good" "a=$W/a"
expect_exit 1 "$MK" import "$STORE" --sha256="$bad" "a=$W/a"
expect_err "package 'a': sha256 mismatch: expected $bad, got $good"

# --- truncated and corrupt archives ---------------------------------------------
for filter in gzip xz zstd bzip2; do
	for i in $(seq 1 300); do printf 'file f%s 0644 0 0 0 %s\n' "$i" "$(printf 'line %s\\n' $(seq 1 40))"; done |
		"$MK" "$W/t.$filter" pax "$filter"
	size=$(stat -c %s "$W/t.$filter")
	head -c $((size / 2)) "$W/t.$filter" >"$W/cut"
	cp "$W/t.$filter" "$W/corrupt"
	for off in $((size / 3)) $((size / 2)) $((size * 2 / 3)); do flip_byte "$W/corrupt" "$off"; done
	snapshot
	expect_exit 1 "$MK" import "$STORE" "p=$W/cut"
	expect_err "vf-mkarchive: error: package 'p': "
	grep -qi 'truncated\|progress\|damaged\|unexpected end' "$TMP/err" || fail "$filter: no truncation named: $(cat "$TMP/err")"
	clean
	expect_exit 1 "$MK" import "$STORE" "p=$W/corrupt"
	expect_err "vf-mkarchive: error: package 'p': "
	clean
	rm -f "$W/cut" "$W/corrupt" "$W/t.$filter"
done
: >"$W/empty-file"
printf 'this is not an archive\n' >"$W/text"
expect_exit 1 "$MK" import "$STORE" "p=$W/text"
expect_err "package 'p': cannot read '$W/text': unrecognized archive format"
expect_exit 1 "$MK" import "$STORE" "p=$W/missing"
expect_err "package 'p': cannot open '$W/missing': No such file or directory"
echo "every hostile archive was refused"
