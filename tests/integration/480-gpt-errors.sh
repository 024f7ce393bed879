#!/bin/sh
# Refusals through the whole path (table check, file, libfdisk), each with
# its numbers and nothing written; reading what is not a GPT.
. tests/integration/lib.sh
set -eu

GPT=$VF_BUILD/tools/vf-gpt
G=3c1e5a7b-9d2f-4e61-8a0b-1c2d3e4f5a6b
S=$((64 * 1024 * 1024))
P1="2048:4096:root:44444444-0000-4000-8000-000000000001:b48,56:ROOT-A"
P2="6144:2048:root-verity:44444444-0000-4000-8000-000000000002:b60:HASH-A"

# refused WANT ARGS...: vf-gpt write exits 1 with WANT, and the image stays zeros
refused() {
	_msg=$1; shift
	rm -f "$TMP/disk.img"
	truncate -s $S "$TMP/disk.img"
	expect_exit 1 "$GPT" write "$TMP/disk.img" "$@"
	expect_err "$_msg"
	cmp -s -n $S "$TMP/disk.img" /dev/zero || fail "a refused write wrote ($_msg)"
}

refused "partition 2 'HASH-A' (sectors 6144-10239) overlaps partition 3 'X' (sectors 8192-10239)" \
	$S $G "$P1" "6144:4096:root-verity:44444444-0000-4000-8000-000000000002:-:HASH-A" \
	"8192:2048:linux:44444444-0000-4000-8000-000000000003:-:X"
refused "partition 2 'HASH-A': start sector 6145 is not a multiple of 2048 (1 MiB)" \
	$S $G "$P1" "6145:2048:root-verity:44444444-0000-4000-8000-000000000002:-:HASH-A"
refused "partition 2 'HASH-A' (sectors 129024-131071) ends after the last usable sector 131038 of a disk of 67108864 bytes" \
	$S $G "$P1" "129024:2048:root-verity:44444444-0000-4000-8000-000000000002:-:HASH-A"
refused "partitions 1 and 2 are both named 'ROOT-A'" \
	$S $G "$P1" "6144:2048:root-verity:44444444-0000-4000-8000-000000000002:-:ROOT-A"
refused "partitions 1 'ROOT-A' and 2 'HASH-A' have the same UUID 44444444-0000-4000-8000-000000000001" \
	$S $G "$P1" "6144:2048:root-verity:44444444-0000-4000-8000-000000000001:-:HASH-A"
refused "partition 2: name 'HASH-A-a-name-of-thirty-seven-chars!...' is longer than 36 characters" \
	$S $G "$P1" "6144:2048:root-verity:44444444-0000-4000-8000-000000000002:-:HASH-A-a-name-of-thirty-seven-chars!!"
refused "partition 2: name byte 4 is 0xc3, not printable ASCII" \
	$S $G "$P1" "6144:2048:root-verity:44444444-0000-4000-8000-000000000002:-:HASH$(printf '\303\251')"
refused "partition 1 'ROOT-A': size is zero" $S $G "2048:0:root:44444444-0000-4000-8000-000000000001:-:ROOT-A"
refused "partition 1 'ROOT-A': starts at sector 0, before the first usable sector 2048" \
	$S $G "0:2048:root:44444444-0000-4000-8000-000000000001:-:ROOT-A"
refused "partition 1 'ROOT-A': attributes 0x0000000000000010 set bits reserved by UEFI (3-47)" \
	$S $G "2048:2048:root:44444444-0000-4000-8000-000000000001:b4:ROOT-A"
refused "disk GUID is all zeros" $S 00000000-0000-0000-0000-000000000000 "$P1"
refused "'$TMP/disk.img' is 67108864 bytes, but the table is for a disk of 68157440 bytes" \
	$((S + 1048576)) $G "$P1"
refused "unknown partition type 'rot' in type set 'dps' (expected one of esp, xbootldr" \
	$S $G "2048:2048:rot:44444444-0000-4000-8000-000000000001:-:ROOT-A"

# more than 128 partitions
set --
i=1
while [ $i -le 129 ]; do
	set -- "$@" "$((2048 * i)):2048:linux:44444444-0000-4000-8000-$(printf '%012d' $i):-:P$i"
	i=$((i + 1))
done
refused "129 partitions, but a GPT holds at most 128" $S $G "$@"

# a missing file is not created
expect_exit 1 "$GPT" write "$TMP/none.img" $S $G "$P1"
expect_err "cannot open '$TMP/none.img': No such file or directory"
[ ! -e "$TMP/none.img" ] || fail "write created a file"

# --- reading what is not a GPT
truncate -s $S "$TMP/zero.img"
expect_exit 1 "$GPT" read "$TMP/zero.img"
expect_err "'$TMP/zero.img' has no partition table"
expect_exit 1 "$GPT" set-attrs "$TMP/zero.img" 1 0
expect_err "'$TMP/zero.img' has no partition table"
if command -v sfdisk >/dev/null 2>&1; then
	printf 'label: dos\nstart=2048, size=4096, type=83\n' |
		sfdisk -q --no-reread --no-tell-kernel "$TMP/zero.img" >/dev/null 2>&1 || fail "sfdisk dos"
	expect_exit 1 "$GPT" read "$TMP/zero.img"
	expect_err "'$TMP/zero.img' has a dos partition table, not a GPT"
fi
echo ok
