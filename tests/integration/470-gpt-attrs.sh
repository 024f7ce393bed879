#!/bin/sh
# vf_gpt_set_attrs, checked with sfdisk: the A/B bank switch changes the
# attributes sfdisk shows and nothing else (only the entry's attribute bytes
# and the four CRCs, in both copies); it keeps another tool's protective MBR
# and boot code, writes nothing when the bits are already set, works on
# sfdisk's own tables, and refuses damaged tables without writing.
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
TAIL=$((SIZE - 33 * 512))   # first byte of the backup array

specs() {
	grep -v '^#' "$LAYOUT" | while read -r name start size dps br attrs uuid; do
		echo "$((start * 2048)):$((size * 2048)):$dps:$uuid:$attrs:$name"
	done
}

# tables IMG OUT: the table's sectors (0-33, then the last 33) into OUT
tables() {
	head -c $((34 * 512)) "$1" >"$2"
	tail -c $((33 * 512)) "$1" >>"$2"
}

# allocated IMG: bytes allocated to a file (the table's blocks only, on a file system with holes)
allocated() { echo $(($(stat -c %b "$1") * $(stat -c %B "$1"))); }

# changed_ok BEFORE AFTER N: every byte that differs is an attribute byte of
# entry N (from 1) or a CRC, in either copy; prints how many differ
changed_ok() {
	_e=$((($3 - 1) * 128 + 48))
	cmp -l "$1" "$2" | awk -v e="$_e" -v t=$((34 * 512)) '
		function within(o, a, n) { return o >= a && o < a + n }
		{
			o = $1 - 1
			if (within(o, 512 + 16, 4) || within(o, 512 + 88, 4) || within(o, 1024 + e, 8) ||
			    within(o, t + e, 8) || within(o, t + 16384 + 16, 4) || within(o, t + 16384 + 88, 4)) { n++; next }
			printf "unexpected change at table byte %d\n", o; bad = 1
		}
		END { if (bad) exit 1; print n + 0 }'
}

json_attrs() { sfdisk --json "$1" | jq -r ".partitiontable.partitions[$(($2 - 1))].attrs // \"\""; }

truncate -s "$SIZE" "$TMP/disk.img"
# shellcheck disable=SC2046
expect_exit 0 "$GPT" write "$TMP/disk.img" "$SIZE" "$DISK_GUID" $(specs)
(cd "$TMP" && sfdisk --dump disk.img) >"$TMP/dump0"
tables "$TMP/disk.img" "$TMP/t0"
alloc0=$(allocated "$TMP/disk.img")

# --- the bank switch: BOOT-B gets priority 2 and 1 try, then BOOT-A is cleared
expect_exit 0 "$GPT" set-attrs "$TMP/disk.img" 5 b49,52
[ "$(json_attrs "$TMP/disk.img" 5)" = "GUID:49,52" ] || fail "sfdisk shows BOOT-B attrs '$(json_attrs "$TMP/disk.img" 5)'"
(cd "$TMP" && sfdisk --dump disk.img) >"$TMP/dump1"
diff "$TMP/dump0" "$TMP/dump1" >"$TMP/diff" && fail "the dump did not change"
[ "$(grep -c '^[<>]' "$TMP/diff")" = 2 ] || { cat "$TMP/diff"; fail "more than the BOOT-B line changed"; }
grep -q '^> disk.img5 : .*name="BOOT-B", attrs="GUID:49,52"$' "$TMP/diff" || { cat "$TMP/diff"; fail "BOOT-B line"; }
tables "$TMP/disk.img" "$TMP/t1"
n=$(changed_ok "$TMP/t0" "$TMP/t1" 5) || fail "set-attrs changed other bytes: $n"
# 49 and 52 are bits 1 and 4 of byte 6: one byte per array, four CRCs
[ "$n" -ge 2 ] && [ "$n" -le 18 ] || fail "$n bytes changed"
[ "$(allocated "$TMP/disk.img")" = "$alloc0" ] || fail "set-attrs wrote outside the table"
sfdisk --verify "$TMP/disk.img" >/dev/null || fail "sfdisk --verify after set-attrs"

expect_exit 0 "$GPT" set-attrs "$TMP/disk.img" 1 0
[ "$(json_attrs "$TMP/disk.img" 1)" = "" ] || fail "BOOT-A still has attrs"
(cd "$TMP" && sfdisk --dump disk.img) >"$TMP/dump2"
[ "$(diff "$TMP/dump1" "$TMP/dump2" | grep -c '^[<>]')" = 2 ] || fail "more than the BOOT-A line changed"
grep -q '^disk.img1 : .*name="BOOT-A"$' "$TMP/dump2" || fail "BOOT-A line"
tables "$TMP/disk.img" "$TMP/t2"
changed_ok "$TMP/t1" "$TMP/t2" 1 >/dev/null || fail "clearing BOOT-A changed other bytes"
expect_exit 0 "$GPT" read "$TMP/disk.img"
expect_out 'attrs=0x0000000000000000 name="BOOT-A"'
expect_out 'attrs=0x0012000000000000 name="BOOT-B"'

# --- setting the bits already there writes nothing (not even the mtime)
mtime=$(stat -c %y "$TMP/disk.img")
expect_exit 0 "$GPT" set-attrs "$TMP/disk.img" 5 0x0012000000000000
[ "$(stat -c %y "$TMP/disk.img")" = "$mtime" ] || fail "a no-op set-attrs wrote"

# --- on a table sfdisk wrote, with boot code and a CHS end sgdisk would compute
S=$((64 * 1024 * 1024))
truncate -s $S "$TMP/sf.img"
sfdisk -q --no-reread --no-tell-kernel "$TMP/sf.img" >/dev/null 2>&1 <<EOT || fail "sfdisk"
label: gpt
label-id: $DISK_GUID
first-lba: 2048
start=2048, size=4096, type=6B636168-7420-6568-2070-6C616E657421, uuid=33333333-0000-4000-8000-000000000001, name="BOOT-A", attrs="GUID:48,56"
start=6144, size=4096, type=6B636168-7420-6568-2070-6C616E657421, uuid=33333333-0000-4000-8000-000000000002, name="BOOT-B"
EOT
printf '\353\143\220vforge-test-boot-code' | dd of="$TMP/sf.img" conv=notrunc status=none
printf '\376\377\377' | dd of="$TMP/sf.img" bs=1 seek=$((446 + 5)) conv=notrunc status=none
head -c 512 "$TMP/sf.img" >"$TMP/mbr0"
expect_exit 0 "$GPT" set-attrs "$TMP/sf.img" 2 b48,49,52,53
head -c 512 "$TMP/sf.img" | cmp - "$TMP/mbr0" || fail "sector 0 changed"
[ "$(json_attrs "$TMP/sf.img" 2)" = "GUID:48,49,52,53" ] || fail "sfdisk shows '$(json_attrs "$TMP/sf.img" 2)'"
[ "$(json_attrs "$TMP/sf.img" 1)" = "GUID:48,56" ] || fail "BOOT-A changed"
sfdisk --verify "$TMP/sf.img" >/dev/null || fail "sfdisk --verify on sfdisk's table after set-attrs"

# --- refusals write nothing
refuse() { # WANT ARGS...
	_msg=$1; shift
	tables "$TMP/disk.img" "$TMP/ta"
	expect_exit 1 "$GPT" set-attrs "$TMP/disk.img" "$@"
	expect_err "$_msg"
	tables "$TMP/disk.img" "$TMP/tb"
	cmp -s "$TMP/ta" "$TMP/tb" || fail "a refused set-attrs wrote ($*)"
}
refuse "partition 11 is not in use" 11 0
refuse "no partition 129: the table has 128 entries" 129 0
refuse "attributes 0x0000000000000008 set bits reserved by UEFI (3-47): 0x0000000000000008" 1 b3
flip_byte "$TMP/disk.img" $((SIZE - 512 + 56))
refuse "refusing to change a damaged GPT (libfdisk: \"The backup GPT table is corrupt, but the primary appears OK" 1 0
flip_byte "$TMP/disk.img" $((SIZE - 512 + 56))
flip_byte "$TMP/disk.img" $((1024 + 200))
refuse "refusing to change a damaged GPT (libfdisk: \"The primary GPT table is corrupt, but the backup appears OK" 1 0
flip_byte "$TMP/disk.img" $((1024 + 200))
sfdisk --verify "$TMP/disk.img" >/dev/null || fail "restored image does not verify"
truncate -s $((SIZE + 1048576)) "$TMP/disk.img"
refuse "the backup GPT header is at sector $((SIZE / 512 - 1)), not at the last sector $((SIZE / 512 + 2047)) (was the disk resized?)" 1 0
echo ok
