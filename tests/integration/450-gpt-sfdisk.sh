#!/bin/sh
# builder/gpt against sfdisk (util-linux), the independent oracle: sfdisk
# --json and --dump show exactly the partitions written, --verify is clean,
# the committed golden dumps match, and the image is byte for byte what sfdisk
# writes from the same script. sfdisk's own type table names our type GUIDs,
# and our reader reads sfdisk's tables.
. tests/integration/lib.sh
set -eu
need sfdisk
need jq

GPT=$VF_BUILD/tools/vf-gpt
case $GPT in /*) ;; *) GPT=$PWD/$GPT ;; esac
LAYOUT=tests/golden/gpt/ab-layout.txt
DISK_GUID=$(sed -n 's/^# disk-guid //p' "$LAYOUT")
DISK_MIB=$(sed -n 's/^# disk-mib //p' "$LAYOUT")
SIZE=$((DISK_MIB * 1024 * 1024))
SECTORS=$((SIZE / 512))

upper() { tr 'a-f' 'A-F'; }

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

# layout [SET]: "name start size type attrs uuid" lines (start and size in sectors)
layout() {
	grep -v '^#' "$LAYOUT" | while read -r name start size dps br attrs uuid; do
		if [ "${1:-dps}" = dps ]; then type=$dps; else type=$br; fi
		echo "$name $((start * 2048)) $((size * 2048)) $type $attrs $uuid"
	done
}

# specs SET: the layout as vf-gpt partition arguments
specs() {
	layout "$1" | while read -r name start size type attrs uuid; do
		echo "$start:$size:$type:$uuid:$attrs:$name"
	done
}

# sf_attrs BITS: the attribute string sfdisk prints for "b0,48,56" ("" for "-")
sf_attrs() {
	[ "$1" = - ] && return 0
	_out="" _guid=""
	for _b in $(echo "${1#b}" | tr , '\n' | sort -n); do
		case $_b in
		0) _out="$_out RequiredPartition" ;;
		1) _out="$_out NoBlockIOProtocol" ;;
		2) _out="$_out LegacyBIOSBootable" ;;
		*) [ "$_b" -ge 48 ] && _guid="${_guid:+$_guid,}$_b" ;;
		esac
	done
	[ -n "$_guid" ] && _out="$_out GUID:$_guid"
	echo "${_out# }"
}

guid_of() { "$GPT" type "$1" x86_64 "$2" | cut -d' ' -f1; }

# expected_tsv SET: start, size, TYPE, UUID, name, attrs as sfdisk --json shows them
expected_tsv() {
	layout "$1" | while read -r name start size type attrs uuid; do
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$start" "$size" "$(guid_of "$type" "$1" | upper)" \
			"$(echo "$uuid" | upper)" "$name" "$(sf_attrs "$attrs")"
	done
}

# sfdisk_script SET: the same table as an sfdisk script (no last-lba: its default)
sfdisk_script() {
	echo "label: gpt"
	echo "label-id: $DISK_GUID"
	echo "first-lba: 2048"
	layout "$1" | while read -r name start size type attrs uuid; do
		line="start=$start, size=$size, type=$(guid_of "$type" "$1"), uuid=$uuid, name=\"$name\""
		[ "$attrs" = - ] || line="$line, attrs=\"$(sf_attrs "$attrs")\""
		echo "$line"
	done
}

for set in dps bottlerocket; do
	mkdir -p "$TMP/$set"
	img=$TMP/$set/disk.img
	truncate -s "$SIZE" "$img"
	# shellcheck disable=SC2046
	expect_exit 0 "$GPT" write -t $set "$img" "$SIZE" "$DISK_GUID" $(specs $set)

	# --- sfdisk --verify is clean
	sfdisk --verify "$img" >"$TMP/verify" 2>&1 || { cat "$TMP/verify"; fail "$set: sfdisk --verify"; }
	grep -q '^No errors detected' "$TMP/verify" || { cat "$TMP/verify"; fail "$set: verify output"; }
	grep -q '^Using 10 out of 128 partitions' "$TMP/verify" || fail "$set: not 10 of 128 entries"

	# --- sfdisk --json: the header and exactly the partitions written
	sfdisk --json "$img" >"$TMP/json"
	[ "$(jq -r '.partitiontable | [.label, .id, .firstlba, .lastlba, .sectorsize] | @tsv' "$TMP/json")" = \
	  "$(printf 'gpt\t%s\t2048\t%s\t512' "$(echo "$DISK_GUID" | upper)" $((SECTORS - 34)))" ] ||
		{ cat "$TMP/json"; fail "$set: sfdisk --json header"; }
	jq -r '.partitiontable.partitions[] | [.start, .size, .type, .uuid, (.name // ""), (.attrs // "")] | @tsv' \
		"$TMP/json" >"$TMP/got.tsv"
	expected_tsv $set >"$TMP/want.tsv"
	diff -u "$TMP/want.tsv" "$TMP/got.tsv" || fail "$set: sfdisk --json partitions"

	# --- the committed golden dump (a file named disk.img in the current directory)
	(cd "$TMP/$set" && sfdisk --dump disk.img) >"$TMP/$set.dump"
	diff -u "tests/golden/gpt/ab-$set.sfdisk" "$TMP/$set.dump" || fail "$set: sfdisk --dump differs from the golden file"

	# --- byte for byte what sfdisk writes from a minimal script and from the golden dump
	sfdisk_script $set >"$TMP/$set.script"
	for script in "$TMP/$set.script" "tests/golden/gpt/ab-$set.sfdisk"; do
		rm -f "$TMP/sf.img"
		truncate -s "$SIZE" "$TMP/sf.img"
		sfdisk -q --no-reread --no-tell-kernel "$TMP/sf.img" <"$script" >"$TMP/sf.out" 2>&1 ||
			{ cat "$TMP/sf.out"; fail "$set: sfdisk rejects $script"; }
		same_image "$TMP/sf.img" "$img" || { cmp "$TMP/sf.img" "$img" || true; fail "$set: sfdisk's image from $script differs"; }
	done

	# --- our reader reads sfdisk's image as the table written
	expect_exit 0 "$GPT" read "$TMP/sf.img"
	cp "$TMP/out" "$TMP/read.sf"
	expect_exit 0 "$GPT" read "$img"
	cmp "$TMP/out" "$TMP/read.sf" || fail "$set: reading sfdisk's image gives another table"
	expect_out "disk-size: $SIZE"
	expect_out "disk-guid: $DISK_GUID"
	expect_out "partitions: 10"
	layout $set | while read -r name start size type attrs uuid; do
		grep -q "start=$start size=$size type=$(guid_of "$type" $set) .* uuid=$uuid .* name=\"$name\"" \
			"$TMP/out" || { cat "$TMP/out"; fail "$set: read lacks $name"; }
	done
done

# --- the golden carries the attribute bits of the layout
grep -q 'name="BOOT-A", attrs="GUID:48,56"' tests/golden/gpt/ab-dps.sfdisk || fail "golden BOOT-A attrs"
grep -q 'name="ROOT-A", attrs="GUID:60"' tests/golden/gpt/ab-dps.sfdisk || fail "golden ROOT-A attrs"
grep -q 'name="PRIVATE", attrs="RequiredPartition"' tests/golden/gpt/ab-dps.sfdisk || fail "golden PRIVATE attrs"

# --- every attribute bit sfdisk can show, names with spaces and punctuation, 36 characters
S=$((64 * 1024 * 1024))
truncate -s $S "$TMP/attrs.img"
expect_exit 0 "$GPT" write "$TMP/attrs.img" $S "$DISK_GUID" \
	"2048:2048:linux:11111111-0000-4000-8000-000000000001:b0:required" \
	"4096:2048:linux:11111111-0000-4000-8000-000000000002:b2:legacy boot" \
	"6144:2048:linux:11111111-0000-4000-8000-000000000003:b0,2,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63:all (bits)" \
	"8192:2048:linux:11111111-0000-4000-8000-000000000004:b51,55,63:GUID 51+55+63, a-z.0_9" \
	"10240:2048:esp:11111111-0000-4000-8000-000000000005:-:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
sfdisk --verify "$TMP/attrs.img" >/dev/null || fail "attrs: sfdisk --verify"
sfdisk --json "$TMP/attrs.img" | jq -r '.partitiontable.partitions[] | [(.name // ""), (.attrs // "")] | @tsv' >"$TMP/got.tsv"
printf '%s\t%s\n' \
	"required" "RequiredPartition" \
	"legacy boot" "LegacyBIOSBootable" \
	"all (bits)" "RequiredPartition LegacyBIOSBootable GUID:48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63" \
	"GUID 51+55+63, a-z.0_9" "GUID:51,55,63" \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" "" >"$TMP/want.tsv"
diff -u "$TMP/want.tsv" "$TMP/got.tsv" || fail "attrs: sfdisk --json names and attrs"
expect_exit 0 "$GPT" read "$TMP/attrs.img"
expect_out 'attrs=0xffff000000000005 name="all (bits)"'
expect_out 'attrs=0x8088000000000000 name="GUID 51+55+63, a-z.0_9"'
# sfdisk rewrites it from its own dump to the same bytes
(cd "$TMP" && sfdisk --dump attrs.img) >"$TMP/attrs.dump"
rm -f "$TMP/sf.img"
truncate -s $S "$TMP/sf.img"
sfdisk -q --no-reread --no-tell-kernel "$TMP/sf.img" <"$TMP/attrs.dump" >/dev/null 2>&1 || fail "attrs: sfdisk rejects its dump"
cmp "$TMP/sf.img" "$TMP/attrs.img" || fail "attrs: sfdisk's image differs"

# --- util-linux's own type table names each of our type GUIDs as expected
sfdisk --label gpt --list-types >"$TMP/types"
while read -r name arch set want; do
	guid=$("$GPT" type "$name" "$arch" "$set" | cut -d' ' -f1 | upper)
	got=$(grep "^$guid " "$TMP/types" | sed 's/^[^ ]*  *//') || true
	[ "$got" = "$(echo "$want" | tr _ ' ')" ] || fail "type $name ($arch, $set) is $guid, which sfdisk calls '$got', not '$want'"
done <<'EOF'
esp - dps EFI_System
xbootldr - dps Linux_extended_boot
linux - dps Linux_filesystem
var - dps Linux_variable_data
swap - dps Linux_swap
home - dps Linux_home
srv - dps Linux_server_data
tmp - dps Linux_temporary_data
root x86_64 dps Linux_root_(x86-64)
root aarch64 dps Linux_root_(ARM-64)
root-verity x86_64 dps Linux_root_verity_(x86-64)
root-verity aarch64 dps Linux_root_verity_(ARM-64)
root-verity-sig x86_64 dps Linux_root_verity_sign._(x86-64)
root-verity-sig aarch64 dps Linux_root_verity_sign._(ARM-64)
usr x86_64 dps Linux_/usr_(x86-64)
usr aarch64 dps Linux_/usr_(ARM-64)
usr-verity x86_64 dps Linux_/usr_verity_(x86-64)
usr-verity aarch64 dps Linux_/usr_verity_(ARM-64)
usr-verity-sig x86_64 dps Linux_/usr_verity_sign._(x86-64)
usr-verity-sig aarch64 dps Linux_/usr_verity_sign._(ARM-64)
bios-boot - bottlerocket BIOS_boot
EOF
echo "ok"
