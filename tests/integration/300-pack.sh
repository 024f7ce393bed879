#!/bin/sh
# vforge pack: prints "<sha256>  <output>" matching sha256sum; GNU tar and zstd
# (independent readers) list what it wrote; the mtime default (SOURCE_DATE_EPOCH
# clamps, else 0) and --owner apply; usage errors exit 2 and failures exit 1,
# naming the problem, leaving neither output nor temporary files.
. tests/integration/lib.sh
set -eu
need tar
need zstd
need sha256sum

case $VFORGE in /*) ;; *) VFORGE=$PWD/$VFORGE ;; esac
EPOCH=1700000000
unset SOURCE_DATE_EPOCH

# usage_error MESSAGE CMD...: exit 2, MESSAGE on stderr, nothing on stdout, no output file
usage_error() {
	_msg=$1; shift
	expect_exit 2 "$@"
	expect_err "$_msg"
	[ ! -s "$TMP/out" ] || { cat "$TMP/out"; fail "usage error printed to stdout: $*"; }
	[ ! -e "$TMP/o/p.tar.zst" ] || fail "usage error wrote an output: $*"
}

# nothing_left: the output directory holds exactly the given names (or nothing)
nothing_left() {
	_got=$(ls -A "$TMP/o" | tr '\n' ' ' | sed 's/ $//')
	[ "$_got" = "${1:-}" ] || fail "output directory holds '$_got', expected '${1:-}'"
}

# listing ARCHIVE: GNU tar's verbose listing in UTC, runs of spaces squeezed
listing() { TZ=UTC tar --zstd --numeric-owner -tvf "$1" 2>/dev/null | tr -s ' '; }

src=$TMP/src
mkdir -p "$src/usr/bin" "$src/etc" "$TMP/o"
printf 'echo hi\n' >"$src/usr/bin/hello"
printf 'x=1\n' >"$src/etc/conf"
chmod 0755 "$src/usr/bin/hello"
chmod 0644 "$src/etc/conf"
chmod 0755 "$src" "$src/usr" "$src/usr/bin" "$src/etc"
ln -s hello "$src/usr/bin/hi"
chown -R 1000:1000 "$src"

# --- help
expect_exit 0 "$VFORGE" pack --help
expect_out "usage: vforge pack <dir> -o <pkg.tar.zst>"
expect_out "SOURCE_DATE_EPOCH"

# --- the sha256 printed is that of the file; independent readers agree
expect_exit 0 "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst"
want="$(sha256sum "$TMP/o/p.tar.zst" | cut -d' ' -f1)  $TMP/o/p.tar.zst"
[ "$(cat "$TMP/out")" = "$want" ] || fail "printed '$(cat "$TMP/out")', expected '$want'"
[ ! -s "$TMP/err" ] || fail "pack wrote to stderr"
[ "$(stat -c %a "$TMP/o/p.tar.zst")" = 644 ] || fail "archive mode is not 0644"
zstd -q -t "$TMP/o/p.tar.zst" || fail "zstd cannot read the archive"
listing "$TMP/o/p.tar.zst" >"$TMP/list"
cat >"$TMP/want" <<EOF
drwxr-xr-x 1000/1000 0 1970-01-01 00:00 etc/
-rw-r--r-- 1000/1000 4 1970-01-01 00:00 etc/conf
drwxr-xr-x 1000/1000 0 1970-01-01 00:00 usr/
drwxr-xr-x 1000/1000 0 1970-01-01 00:00 usr/bin/
-rwxr-xr-x 1000/1000 8 1970-01-01 00:00 usr/bin/hello
lrwxrwxrwx 1000/1000 0 1970-01-01 00:00 usr/bin/hi -> hello
EOF
diff -u "$TMP/want" "$TMP/list" || fail "tar lists other entries (default: every mtime 0)"
nothing_left "p.tar.zst"

# --- --owner and --mtime; SOURCE_DATE_EPOCH clamps like --mtime, --mtime wins
expect_exit 0 "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --owner 0:0 --mtime $EPOCH
listing "$TMP/o/p.tar.zst" | grep -qx -- '-rwxr-xr-x 0/0 8 2023-11-14 22:13 usr/bin/hello' ||
	{ listing "$TMP/o/p.tar.zst"; fail "--owner 0:0 --mtime $EPOCH not applied"; }
cp "$TMP/o/p.tar.zst" "$TMP/with-mtime"
expect_exit 0 env SOURCE_DATE_EPOCH=$EPOCH "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --owner 0:0
cmp -s "$TMP/with-mtime" "$TMP/o/p.tar.zst" || fail "SOURCE_DATE_EPOCH differs from --mtime"
expect_exit 0 env SOURCE_DATE_EPOCH=5 "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --owner 0:0 --mtime $EPOCH
cmp -s "$TMP/with-mtime" "$TMP/o/p.tar.zst" || fail "--mtime does not override SOURCE_DATE_EPOCH"
# clamping keeps older mtimes
touch -d @1000 "$src/etc/conf"
expect_exit 0 "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --mtime $EPOCH
listing "$TMP/o/p.tar.zst" | grep -qx -- '-rw-r--r-- 1000/1000 4 1970-01-01 00:16 etc/conf' ||
	{ listing "$TMP/o/p.tar.zst"; fail "an mtime older than --mtime was not kept"; }
expect_exit 0 "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --level 1 --owner 4294967295:7
listing "$TMP/o/p.tar.zst" | grep -q ' 4294967295/7 ' || fail "--owner 4294967295:7 not applied"

# --- usage errors: exit 2, nothing written
rm -f "$TMP/o/p.tar.zst"
for bad in abc 1 1: :1 1:2:3 -1:0 1:-2 4294967296:0 0:4294967296 ' 1:2' '1:2 ' 0x1:2; do
	usage_error "--owner" "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --owner "$bad"
done
usage_error "--mtime: 'yesterday' is not a non-negative integer" \
	"$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --mtime yesterday
usage_error "--mtime: '-5' is not a non-negative integer" \
	"$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --mtime -5
usage_error "--mtime: '9223372036854775808' is too large" \
	"$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --mtime 9223372036854775808
# a bad SOURCE_DATE_EPOCH is an input error (exit 1), as for every command; --mtime bypasses it
expect_exit 1 env SOURCE_DATE_EPOCH=soon "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst"
expect_err "SOURCE_DATE_EPOCH='soon' is not an integer from 0 to 2^53-1"
[ ! -e "$TMP/o/p.tar.zst" ] || fail "pack wrote an archive with a bad SOURCE_DATE_EPOCH"
expect_exit 1 env SOURCE_DATE_EPOCH=9007199254740992 "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst"
expect_err "SOURCE_DATE_EPOCH='9007199254740992' is not an integer"
expect_exit 0 env SOURCE_DATE_EPOCH=soon "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --owner 0:0 --mtime $EPOCH
listing "$TMP/o/p.tar.zst" | grep -qx -- '-rwxr-xr-x 0/0 8 2023-11-14 22:13 usr/bin/hello' ||
	{ listing "$TMP/o/p.tar.zst"; fail "--mtime with a bad SOURCE_DATE_EPOCH not applied"; }
rm -f "$TMP/o/p.tar.zst"
usage_error "--level: expected 1 to 22, got 23" "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --level 23
usage_error "--level: expected 1 to 22, got 0" "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --level 0
usage_error "missing -o" "$VFORGE" pack "$src"
usage_error "missing the directory to pack" "$VFORGE" pack -o "$TMP/o/p.tar.zst"
usage_error "expected one directory, got 2 arguments" "$VFORGE" pack "$src" "$src" -o "$TMP/o/p.tar.zst"
usage_error "unknown option '--frobnicate'" "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst" --frobnicate
usage_error "option '-o' needs a value" "$VFORGE" pack "$src" -o
nothing_left

# --- failures: exit 1, naming the path; no output, no temporary file
expect_exit 1 "$VFORGE" pack "$TMP/missing" -o "$TMP/o/p.tar.zst"
expect_err "vforge: error: cannot stat '$TMP/missing': No such file or directory"
nothing_left
expect_exit 1 "$VFORGE" pack "$src/etc/conf" -o "$TMP/o/p.tar.zst"
expect_err "'$src/etc/conf' is not a directory"
nothing_left
expect_exit 1 "$VFORGE" pack "$src" -o "$src/etc/p.tar.zst"
expect_err "is inside the directory being packed"
[ ! -e "$src/etc/p.tar.zst" ] || fail "wrote an archive into the packed directory"
expect_exit 1 "$VFORGE" pack "$src" -o "$TMP/nodir/p.tar.zst"
expect_err "$TMP/nodir/p.tar.zst"

# a socket halfway through: refused, the previous archive stays as it was
echo old >"$TMP/o/p.tar.zst"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$src/etc/sock" 2>/dev/null ||
	skip "cannot create a unix socket"
expect_exit 1 "$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst"
expect_err "'$src/etc/sock' is a socket: sockets cannot be packed"
[ "$(cat "$TMP/o/p.tar.zst")" = old ] || fail "a failed pack replaced the output"
nothing_left "p.tar.zst"
rm -f "$src/etc/sock" "$TMP/o/p.tar.zst"

# an unreadable file, for an unprivileged user
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	printf 'secret' >"$src/etc/shadow"
	chmod 0000 "$src/etc/shadow"
	chmod 0777 "$TMP/o"
	chmod 0755 "$TMP"
	expect_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$VFORGE" pack "$src" -o "$TMP/o/p.tar.zst"
	expect_err "cannot open '$src/etc/shadow': Permission denied"
	nothing_left
	rm -f "$src/etc/shadow"
else
	echo "note: unreadable-file check skipped (needs root and setpriv)"
fi
echo "ok"
