#!/bin/sh
# The same table gives the same bytes whatever the time zone, umask, locale
# or working directory, over a fresh file, over junk and over another table;
# the table's sectors (0-33 and the last 33) hash to the committed values;
# nothing outside them is written.
. tests/integration/lib.sh
set -eu
need sha256sum

GPT=$VF_BUILD/tools/vf-gpt
case $GPT in /*) ;; *) GPT=$PWD/$GPT ;; esac
LAYOUT=$PWD/tests/golden/gpt/ab-layout.txt
DISK_GUID=$(sed -n 's/^# disk-guid //p' "$LAYOUT")
DISK_MIB=$(sed -n 's/^# disk-mib //p' "$LAYOUT")
SIZE=$((DISK_MIB * 1024 * 1024))

# specs SET: the golden layout as vf-gpt partition arguments
specs() {
	grep -v '^#' "$LAYOUT" | while read -r name start size dps br attrs uuid; do
		if [ "$1" = dps ]; then type=$dps; else type=$br; fi
		echo "$((start * 2048)):$((size * 2048)):$type:$uuid:$attrs:$name"
	done
}

# Whole-file comparisons of multi-GiB sparse images read every hole, so where
# the file system keeps holes, same_image compares the table's sectors and
# checks that neither file has more blocks allocated than those sectors
# cover: nothing else was written.
truncate -s 1G "$TMP/probe"
SPARSE=0
[ "$(stat -c %b "$TMP/probe")" = 0 ] && SPARSE=1
rm -f "$TMP/probe"

# table_blocks IMG: bytes of the file system blocks under sectors 0-33 and the last 33
table_blocks() {
	_bs=$(stat -f -c %S "$1")
	_sz=$(stat -c %s "$1")
	echo $(( ((34 * 512 + _bs - 1) / _bs + (_sz - 1) / _bs - (_sz - 33 * 512) / _bs + 1) * _bs ))
}

# same_image A B: A and B hold the same bytes
same_image() {
	[ "$SPARSE" = 1 ] || { cmp -s "$1" "$2"; return; }
	_sz=$(stat -c %s "$1")
	[ "$_sz" = "$(stat -c %s "$2")" ] &&
		cmp -s -n $((34 * 512)) "$1" "$2" &&
		cmp -s -i $((_sz - 33 * 512)) "$1" "$2" &&
		[ $(($(stat -c %b "$1") * $(stat -c %B "$1"))) -le "$(table_blocks "$1")" ] &&
		[ $(($(stat -c %b "$2") * $(stat -c %B "$2"))) -le "$(table_blocks "$2")" ]
}

# table_hash IMG: sha256 of the sectors a GPT occupies (0-33 and the last 33)
table_hash() {
	{ head -c $((34 * 512)) "$1"; tail -c $((33 * 512)) "$1"; } | sha256sum | cut -d' ' -f1
}

# --- the committed hashes, for both type sets
for set in dps bottlerocket; do
	truncate -s "$SIZE" "$TMP/$set.img"
	# shellcheck disable=SC2046
	expect_exit 0 "$GPT" write -t $set "$TMP/$set.img" "$SIZE" "$DISK_GUID" $(specs $set)
	want=$(awk -v s=$set '$2 == s { print $1 }' tests/golden/gpt/ab-tables.sha256)
	[ "$(table_hash "$TMP/$set.img")" = "$want" ] || fail "$set: table sectors hash to $(table_hash "$TMP/$set.img"), not $want"
	# nothing else was written: the whole file equals one holding just those sectors
	truncate -s "$SIZE" "$TMP/only.img"
	head -c $((34 * 512)) "$TMP/$set.img" | dd of="$TMP/only.img" conv=notrunc status=none
	tail -c $((33 * 512)) "$TMP/$set.img" | dd of="$TMP/only.img" bs=512 seek=$((SIZE / 512 - 33)) conv=notrunc status=none
	same_image "$TMP/only.img" "$TMP/$set.img" || fail "$set: bytes outside the table were written"
	rm -f "$TMP/only.img"
done

# --- time zone, umask, locale and working directory change nothing
mkdir -p "$TMP/elsewhere/deeper"
for env in "TZ=UTC" "TZ=Pacific/Chatham" "TZ=XYZ-13:45" "LC_ALL=C.UTF-8" "LANG=de_DE.UTF-8"; do
	for mask in 022 077 000; do
		rm -f "$TMP/elsewhere/x.img"
		truncate -s "$SIZE" "$TMP/elsewhere/x.img"
		(
			cd "$TMP/elsewhere/deeper"
			umask $mask
			# shellcheck disable=SC2046,SC2086
			env $env "$GPT" write ../x.img "$SIZE" "$DISK_GUID" $(specs dps)
		) || fail "write failed with $env, umask $mask"
		same_image "$TMP/dps.img" "$TMP/elsewhere/x.img" || fail "other bytes with $env, umask $mask"
	done
done

# --- over another table, and over the other set's table: the same bytes
cp "$TMP/bottlerocket.img" "$TMP/re.img"
# shellcheck disable=SC2046
expect_exit 0 "$GPT" write "$TMP/re.img" "$SIZE" "$DISK_GUID" $(specs dps)
same_image "$TMP/dps.img" "$TMP/re.img" || fail "rewriting over another table gives other bytes"

# --- over junk (64 MiB): the table's sectors are those of a fresh file, the rest stays junk
S=$((64 * 1024 * 1024))
PARTS="2048:4096:root:22222222-0000-4000-8000-000000000001:b48,56:ROOT-A 6144:2048:root-verity:22222222-0000-4000-8000-000000000002:b60:HASH-A"
gen 460 $S "$TMP/junk.img"
cp "$TMP/junk.img" "$TMP/junk0.img"
truncate -s $S "$TMP/clean.img"
# shellcheck disable=SC2086
expect_exit 0 "$GPT" write "$TMP/junk.img" $S "$DISK_GUID" $PARTS
# shellcheck disable=SC2086
expect_exit 0 "$GPT" write "$TMP/clean.img" $S "$DISK_GUID" $PARTS
[ "$(table_hash "$TMP/junk.img")" = "$(table_hash "$TMP/clean.img")" ] || fail "junk leaks into the table"
cmp -s -i $((34 * 512)) -n $((S - 67 * 512)) "$TMP/junk.img" "$TMP/junk0.img" ||
	fail "bytes between the tables changed over junk"
command -v sfdisk >/dev/null 2>&1 && { sfdisk --verify "$TMP/junk.img" >/dev/null || fail "sfdisk --verify on the junk image"; }
echo ok
