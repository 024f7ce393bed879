#!/bin/sh
# ext4 writer: `dumpe2fs -h` of the fixed test image matches the reviewed
# golden file: the pinned feature set, UUID, hash seed, label, times, counts,
# flags and checksum. Normalised by running dumpe2fs with TZ=UTC LC_ALL=C
# and dropping its version banner (stderr). After an intended change, review
# and accept the new output with VF_UPDATE_GOLDEN=1.
. tests/integration/lib.sh
set -eu
need dumpe2fs

EMIT="$VF_BUILD/tests/unit/ext4/test_determinism"
GOLD=tests/golden/ext4/dumpe2fs-h.txt
[ -x "$EMIT" ] || skip "$EMIT is not built (make BUILD=... unit)"

"$EMIT" --emit "$TMP/fs.img" || fail "image not written"
TZ=UTC LC_ALL=C dumpe2fs -h "$TMP/fs.img" 2>/dev/null >"$TMP/dump" || fail "dumpe2fs -h failed"
if [ -n "${VF_UPDATE_GOLDEN:-}" ]; then
	cp "$TMP/dump" "$GOLD"
	echo "updated $GOLD"
fi
diff -u "$GOLD" "$TMP/dump" || fail "dumpe2fs -h differs from $GOLD"

# --- the pins, spelt out (so a careless golden update cannot drop them)
for want in \
	'Filesystem features:      ext_attr dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum' \
	'Filesystem UUID:          10111213-1415-1617-1819-1a1b1c1d1e1f' \
	'Directory Hash Seed:      a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf' \
	'Filesystem volume name:   vforge-test' \
	'Filesystem created:       Tue Nov 14 22:13:20 2023' \
	'Last write time:          Tue Nov 14 22:13:20 2023' \
	'Last checked:             Tue Nov 14 22:13:20 2023' \
	'Reserved block count:     0' \
	'Filesystem flags:         signed_directory_hash ' \
	'Default directory hash:   half_md4' \
	'Checksum type:            crc32c'; do
	grep -qxF -- "$want" "$GOLD" || fail "$GOLD lacks: $want"
done
grep -q 'Reserved GDT blocks' "$GOLD" && fail "resize_inode is back"
grep -q 'Lifetime writes' "$GOLD" && fail "s_kbytes_written is set"
echo ok
