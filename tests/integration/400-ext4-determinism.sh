#!/bin/sh
# ext4 writer: the same tree and options give the same image bytes in separate
# processes, from other working directories, time zones, locales and umasks,
# with E2FSPROGS_FAKE_TIME unset or set to something else, a second apart (so
# a clock read anywhere would show); e2fsck -fn finds nothing; any option
# that should matter does. The image comes from the ext4 unit test binary
# (`test_determinism --emit`: the typical test tree, a 3,000-entry htree
# directory and every entry type).
. tests/integration/lib.sh
set -eu
need e2fsck
need sha256sum

EMIT="$VF_BUILD/tests/unit/ext4/test_determinism"
[ -x "$EMIT" ] || skip "$EMIT is not built (make BUILD=... unit)"
sum() { sha256sum <"$1" | cut -d' ' -f1; }

mkdir "$TMP/a" "$TMP/b"
(cd "$TMP/a" && umask 022 && unset E2FSPROGS_FAKE_TIME && TZ=UTC LC_ALL=C \
	"$EMIT" --emit "$TMP/one.img") || fail "first image not written"
sleep 1
(cd "$TMP/b" && umask 077 && TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 E2FSPROGS_FAKE_TIME=987654321 \
	"$EMIT" --emit "$TMP/two.img") || fail "second image not written"
(cd / && TZ=America/St_Johns "$EMIT" --emit "$TMP/three.img") || fail "third image not written"

one=$(sum "$TMP/one.img")
[ "$one" = "$(sum "$TMP/two.img")" ] || fail "images differ across cwd/TZ/umask/E2FSPROGS_FAKE_TIME/clock"
[ "$one" = "$(sum "$TMP/three.img")" ] || fail "images differ when written from /"
[ "$(stat -c %a "$TMP/two.img")" = 644 ] || fail "image mode follows the umask"

# --- an independent checker finds nothing to report
e2fsck -fn "$TMP/one.img" >"$TMP/fsck" 2>&1 || { cat "$TMP/fsck"; fail "e2fsck -fn failed"; }
grep -v -e '^Pass ' -e '^e2fsck ' -e ' files (' "$TMP/fsck" | grep . && fail "e2fsck -fn reported problems"

# --- e2fsck -fy rewrites only the superblock (its check time): nothing to repair or optimise
cp "$TMP/one.img" "$TMP/fy.img"
e2fsck -fy "$TMP/fy.img" >/dev/null 2>&1 || fail "e2fsck -fy failed"
cmp -s -i 4096 "$TMP/one.img" "$TMP/fy.img" || fail "e2fsck -fy changed more than the superblock"
echo "ok: $one"
