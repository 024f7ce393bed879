#!/bin/sh
# vforge resolve: the composed manifest of a fixture tree matches a reviewed
# golden file; --json output is the same across runs, time zones, locales,
# working directories and checkout locations; text output; exit codes 0/1/2.
. tests/integration/lib.sh
set -eu

FIX=tests/fixtures/manifests/basic
GOLD=tests/golden/resolve/basic.json

# --- the composed result matches the reviewed golden file, byte for byte
expect_exit 0 "$VFORGE" resolve "$FIX/demo" --json
[ ! -s "$TMP/err" ] || { cat "$TMP/err"; fail "resolve --json wrote to stderr"; }
diff -u "$GOLD" "$TMP/out" || fail "resolve --json differs from $GOLD"
cp "$TMP/out" "$TMP/ref.json"

same() { cmp -s "$TMP/ref.json" "$TMP/out" || { diff -u "$TMP/ref.json" "$TMP/out"; fail "$1"; }; }

# --- deterministic: again, other TZ/locale, other cwd, other spellings, other location
expect_exit 0 "$VFORGE" resolve "$FIX/demo" --json
same "second run differs"
expect_exit 0 env TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 LANG=de_DE.UTF-8 "$VFORGE" resolve --json "$FIX/demo"
same "output depends on TZ/LC_ALL"
expect_exit 0 sh -c 'cd / && exec "$1" resolve "$2" --json' sh "$VFORGE" "$VF_TOP/$FIX/demo"
same "output depends on the current directory (absolute path from /)"
expect_exit 0 sh -c 'cd "$2" && exec "$1" resolve . --json' sh "$VFORGE" "$FIX/demo"
same "output depends on the current directory (resolve . from the variant)"
expect_exit 0 "$VFORGE" resolve "./$FIX/demo/fragments/../variant.json" --json
same "output depends on how the manifest path is spelt"
cp -R "$FIX" "$TMP/elsewhere"
expect_exit 0 "$VFORGE" resolve "$TMP/elsewhere/demo" --json
same "output depends on where the tree is"
ln -s "$VF_TOP/$FIX/demo" "$TMP/link"
expect_exit 0 "$VFORGE" resolve "$TMP/link" --json
same "output differs through a symlinked directory"

# --- text output: a readable summary
expect_exit 0 "$VFORGE" resolve "$FIX/demo"
expect_out "variant demo 1.2.0-rc.1+build.5 x86_64"
expect_out "source_date_epoch: 1700000000"
expect_out "packages (3):"
expect_out "  app      555555555555  ../pkgs/app-2.0.tar  (from $FIX/demo/variant.json)  override"
expect_out "  busybox  111111111111  ../pkgs/busybox.tar.zst  (from $FIX/demo/../common/base.json)"
expect_out "  strace   444444444444  ../../pkgs/strace.tar  (from $FIX/demo/fragments/debug.json)"
expect_out "files (2):"
expect_out "  /etc/motd  0644 0:0  inline, 5 bytes  (from $FIX/demo/variant.json)"
expect_out "  /etc/hostname -> /run/hostname  0:0  (from $FIX/demo/variant.json)"
expect_out "kernel cmdline: console=ttyS0,115200 console=tty1 ro quiet debug"
expect_out "selinux default: system_u:object_r:default_t:s0"
expect_out "  /usr/bin/strace  file  system_u:object_r:debug_exec_t:s0"
expect_out "  ROOT-A     root                 33 MiB     1024 MiB"
expect_out "  DATA       linux              2213 MiB     1024 MiB"
expect_out "  disk 4096 MiB"
expect_out "update root: $VF_TOP/$FIX/demo/keys/root.json -> /usr/share/vforge/root.json"
grep -q 'nano' "$TMP/out" && fail "removed package nano is still listed"
[ ! -s "$TMP/err" ] || fail "resolve wrote to stderr"

# --- --help: stdout, exit 0
expect_exit 0 "$VFORGE" resolve --help
expect_out "usage: vforge resolve <variant> [--json]"
expect_out "--json"
[ ! -s "$TMP/err" ] || fail "resolve --help wrote to stderr"

# --- usage errors: exit 2, stderr only
usage_error() {
	_msg=$1; shift
	expect_exit 2 "$@"
	expect_err "$_msg"
	expect_err "usage: vforge resolve <variant> [--json]"
	[ ! -s "$TMP/out" ] || fail "usage error printed to stdout: $*"
}
usage_error "missing <variant>" "$VFORGE" resolve
usage_error "missing <variant>" "$VFORGE" resolve --json
usage_error "too many arguments" "$VFORGE" resolve "$FIX/demo" "$FIX/demo"
usage_error "unknown option '--yaml'" "$VFORGE" resolve --yaml "$FIX/demo"

# --- failures: exit 1, a message naming the file and the field, nothing on stdout
failure() {
	_msg=$1; shift
	expect_exit 1 "$@"
	expect_err "vforge: error: "
	expect_err "$_msg"
	[ ! -s "$TMP/out" ] || { cat "$TMP/out"; fail "failure printed to stdout: $*"; }
}
failure "cannot open manifest '$TMP/none.json': No such file or directory" \
	"$VFORGE" resolve "$TMP/none.json"
mkdir "$TMP/empty"
failure "cannot open manifest '$TMP/empty/variant.json'" "$VFORGE" resolve "$TMP/empty"

mkdir -p "$TMP/bad/frag"
cat >"$TMP/bad/frag/pkgs.json" <<'EOF'
{ "packages": [ { "name": "a", "path": "a.tar", "sha256": "abc" } ] }
EOF
cat >"$TMP/bad/variant.json" <<'EOF'
{ "include": ["frag/pkgs.json"], "name": "bad", "version": "1.0.0", "arch": "x86_64" }
EOF
failure "manifest '$TMP/bad/frag/pkgs.json': packages[0].sha256: expected 64 lowercase hex digits, got 'abc'" \
	"$VFORGE" resolve "$TMP/bad" --json

cat >"$TMP/bad/a.json" <<'EOF'
{ "include": ["b.json"] }
EOF
cat >"$TMP/bad/b.json" <<'EOF'
{ "include": ["a.json"] }
EOF
failure "include cycle: $TMP/bad/a.json -> $TMP/bad/b.json -> $TMP/bad/a.json" \
	"$VFORGE" resolve "$TMP/bad/a.json"

printf '{ "name": "x", "version": "1.0", "arch": "x86_64" }' >"$TMP/bad/v.json"
failure "manifest '$TMP/bad/v.json': version: expected a SemVer 2.0 version" \
	"$VFORGE" resolve "$TMP/bad/v.json"
printf '{ "name": "x", "version": "1.0.0", "arch": "x86_64", "name": "y" }' >"$TMP/bad/d.json"
failure "manifest '$TMP/bad/d.json': invalid JSON at line 1" "$VFORGE" resolve "$TMP/bad/d.json"
expect_err "duplicate object key"
printf '{ "name": "x", "version": "1.0.0", "arch": "x86_64", "layout": {"disk_size": "1GiB"} }' \
	>"$TMP/bad/l.json"
failure "variant '$TMP/bad/l.json': layout: the partitions need 3193962496 bytes" \
	"$VFORGE" resolve "$TMP/bad/l.json"
expect_err "but disk_size is 1073741824 bytes"

echo "resolve: ok"
