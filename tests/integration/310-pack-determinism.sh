#!/bin/sh
# vforge pack gives the same bytes for the same contents whatever the umask,
# time zone, locale, directory read order (the copy is created in the opposite
# order, on tmpfs when /dev/shm exists) or file times newer than --mtime; and
# different bytes when one byte of content changes.
. tests/integration/lib.sh
set -eu

case $VFORGE in /*) ;; *) VFORGE=$PWD/$VFORGE ;; esac
EPOCH=1700000000
unset SOURCE_DATE_EPOCH

# make_tree DIR ORDER: the same tree, its files created in ORDER (fwd or rev)
make_tree() {
	_d=$1
	mkdir -p "$_d/usr/bin" "$_d/usr/lib" "$_d/var/tmp" "$_d/etc"
	if [ "$2" = fwd ]; then names="B a-c a.txt b z caf$(printf '\303\251')"
	else names="caf$(printf '\303\251') z b a.txt a-c B"; fi
	for n in $names; do printf '%s\n' "$n" >"$_d/usr/lib/$n"; done
	printf '#!/bin/true\n' >"$_d/usr/bin/tool"
	ln "$_d/usr/bin/tool" "$_d/usr/bin/tool2"
	ln -s tool "$_d/usr/bin/t"
	printf 'k=v\n' >"$_d/etc/conf"
	chmod 0755 "$_d" "$_d/usr" "$_d/usr/bin" "$_d/usr/lib" "$_d/etc" "$_d/var"
	chmod 1777 "$_d/var/tmp"
	chmod 4755 "$_d/usr/bin/tool"
	find "$_d" -type f -exec chmod go-w {} +
	chmod 0600 "$_d/etc/conf"
}

make_tree "$TMP/a" fwd
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	B=$(mktemp -d /dev/shm/vforge-test.XXXXXX)
	trap 'rm -rf "$TMP" "$B"' EXIT
else
	B=$TMP/b-parent; mkdir "$B"
fi
make_tree "$B/b" rev
touch "$B/b/usr/lib/z" "$B/b/etc/conf"
sleep 1
touch "$B/b/usr/lib/B" "$B/b/usr/bin/tool"

first=$(ls -U "$TMP/a/usr/lib" | tr '\n' ' ')
second=$(ls -U "$B/b/usr/lib" | tr '\n' ' ')
[ "$first" != "$second" ] || echo "note: both copies list in the same readdir order: $first"

expect_exit 0 sh -c "umask 022; TZ=UTC LC_ALL=C exec \"\$0\" pack \"\$1\" -o \"\$2\" --mtime $EPOCH" \
	"$VFORGE" "$TMP/a" "$TMP/a.tar.zst"
cp "$TMP/out" "$TMP/a.out"
expect_exit 0 sh -c "umask 077; TZ=Asia/Kathmandu LC_ALL=C.UTF-8 exec \"\$0\" pack \"\$1\" -o \"\$2\" --mtime $EPOCH" \
	"$VFORGE" "$B/b" "$TMP/b.tar.zst"
cmp "$TMP/a.tar.zst" "$TMP/b.tar.zst" || fail "the same contents gave different archives"
[ "$(cut -d' ' -f1 "$TMP/a.out")" = "$(cut -d' ' -f1 "$TMP/out")" ] || fail "different sha256 printed"
[ "$(stat -c %a "$TMP/b.tar.zst")" = 644 ] || fail "the umask changed the archive's mode"

# SOURCE_DATE_EPOCH in the environment does the same as --mtime
expect_exit 0 env SOURCE_DATE_EPOCH=$EPOCH "$VFORGE" pack "$B/b" -o "$TMP/c.tar.zst"
cmp "$TMP/a.tar.zst" "$TMP/c.tar.zst" || fail "SOURCE_DATE_EPOCH differs from --mtime"

# one byte of content changes the archive
printf 'k=w\n' >"$B/b/etc/conf"
expect_exit 0 "$VFORGE" pack "$B/b" -o "$TMP/d.tar.zst" --mtime $EPOCH
! cmp -s "$TMP/a.tar.zst" "$TMP/d.tar.zst" || fail "a changed file gave the same archive"
echo "ok"
