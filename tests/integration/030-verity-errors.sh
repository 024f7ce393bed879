#!/bin/sh
# Bad input to `vforge verity`: each is refused with the right exit code and a
# message naming the file or value, and leaves nothing behind: no hash file,
# no ".<name>.tmp.*" temporary file, an existing hash file and the data as they
# were.
. tests/integration/lib.sh
set -eu

B=4096
W=$TMP/w
mkdir "$W"
gen 1 $((2 * B)) "$W/two"
gen 2 5000 "$W/odd"
: >"$W/empty"
cp "$W/two" "$W/two.orig"

# snapshot: remember which files are in $W; clean: they and no others still are
snapshot() { INPUTS=$(cd "$W" && ls -A); }
clean() {
	_now=$(cd "$W" && ls -A)
	[ "$_now" = "$INPUTS" ] ||
		fail "left behind after a failure: '$(echo "$_now" | tr '\n' ' ')'," \
			"expected '$(echo "$INPUTS" | tr '\n' ' ')'"
	cmp -s "$W/two" "$W/two.orig" || fail "the data file '$W/two' changed"
}
snapshot

# refused CODE MESSAGE CMD...: exits CODE, MESSAGE on stderr, nothing on stdout,
# nothing left behind
refused() {
	_code=$1 _msg=$2; shift 2
	expect_exit "$_code" "$@"
	expect_err "$_msg"
	[ ! -s "$TMP/out" ] || { cat "$TMP/out"; fail "a refused command printed to stdout: $*"; }
	clean
}

vformat() { "$VFORGE" verity format "$@"; }
vverify() { "$VFORGE" verity verify "$@"; }

# --- the data file
refused 1 "data file '$W/odd' is 5000 bytes, not a multiple of the data block size 4096" \
	vformat "$W/odd" "$W/hash"
refused 1 "data file '$W/empty' is empty" vformat "$W/empty" "$W/hash"
refused 1 "data file '$W/two' holds 8192 bytes, but 3 data blocks of 4096 bytes need 12288" \
	vformat --data-blocks=3 "$W/two" "$W/hash"
refused 1 "data file '$W/two' is 8192 bytes, not a multiple of the data block size 65536" \
	vformat --data-block-size=65536 "$W/two" "$W/hash"
refused 1 "cannot open data file '$W/missing': No such file or directory" \
	vformat "$W/missing" "$W/hash"
mkdir "$W/dir"
snapshot
refused 1 "data file '$W/dir' is not a regular file or block device" vformat "$W/dir" "$W/hash"
if [ "$(id -u)" != 0 ]; then
	# root reads through mode 000, so this only means something for others
	cp "$W/two" "$W/secret"; chmod 000 "$W/secret"
	snapshot
	refused 1 "cannot open data file '$W/secret': Permission denied" vformat "$W/secret" "$W/hash"
fi

# --- parameters
refused 1 "data block size 1000 is invalid: expected a power of two" \
	vformat --data-block-size=1000 "$W/two" "$W/hash"
refused 1 "hash block size 131072 is invalid: expected a power of two" \
	vformat --hash-block-size=131072 "$W/two" "$W/hash"
refused 1 "data block size 256 is invalid" vformat --data-block-size=256 "$W/two" "$W/hash"
refused 2 "--salt: salt of 257 bytes is too long: at most 256" \
	vformat --salt="$(printf '%0514d' 0)" "$W/two" "$W/hash"
refused 2 "--salt: salt 'abc' is not an even number of hex digits" vformat --salt=abc "$W/two" "$W/hash"
refused 1 "unknown hash 'md5'" vformat --hash=md5 "$W/two" "$W/hash"
refused 1 "hash offset 1000 is not a multiple of 512" vformat --hash-offset=1000 "$W/two" "$W/hash"
refused 1 "hash offset 512 is not a multiple of the hash block size 4096" \
	vformat --no-superblock --hash-offset=512 "$W/two" "$W/hash"

# --- the data file as hash file: the tree must not overlap the data
for off in 0 4096 7680; do
	refused 1 "hash area at byte $off of '$W/two' overlaps the data, which ends at byte 8192" \
		vformat --hash-offset=$off "$W/two" "$W/two"
done
refused 1 "overlaps the data, which ends at byte 4096" \
	vformat --data-blocks=1 --hash-offset=0 "$W/two" "$W/two"

# --- where the hash file goes
refused 1 "cannot create a temporary file next to '$W/nodir/hash'" vformat "$W/two" "$W/nodir/hash"
refused 1 "hash file '$W/dir' is not a regular file or block device" vformat "$W/two" "$W/dir"

# a failed format leaves an existing hash file as it was
gen 3 $((3 * B)) "$W/old"
cp "$W/old" "$W/old.orig"
snapshot
expect_exit 1 vformat "$W/odd" "$W/old"
expect_err "not a multiple"
expect_exit 1 vformat --hash=md5 "$W/two" "$W/old"
expect_err "unknown hash"
expect_exit 1 vformat --data-blocks=9 --hash-offset=4096 "$W/two" "$W/old"
expect_err "need 36864"
cmp -s "$W/old" "$W/old.orig" || fail "a failed format changed the existing hash file"
clean
# a data file that reads short fails only after the temporary file exists:
# a sysfs attribute claims 4096 bytes but holds a few
short=/sys/kernel/uevent_seqnum
if [ -f "$short" ] && [ "$(wc -c <"$short")" -lt 512 ] && [ "$(stat -c %s "$short")" = 4096 ]; then
	refused 1 "data file '$short': data holds" vformat "$short" "$W/hash"
	refused 1 "data file '$short': data ends at byte" \
		vformat --data-block-size=512 --data-blocks=8 --hash-offset=4096 "$short" "$W/old"
	cmp -s "$W/old" "$W/old.orig" || fail "a failed format changed the existing hash file"
fi

# --- verify
SALT=00112233445566778899aabbccddeeff
expect_exit 0 vformat --no-superblock --salt=$SALT "$W/two" "$W/nosb"
root_nosb=$(root_of "$TMP/out")
expect_exit 0 vformat --salt=$SALT "$W/two" "$W/sb"
root=$(root_of "$TMP/out")
snapshot

refused 1 "hash file '$W/nosb' at byte 0: no verity superblock" vverify "$W/two" "$W/nosb" "$root_nosb"
refused 1 "no verity superblock" vverify --hash-offset=4096 "$W/two" "$W/sb" "$root"
refused 1 "has no verity superblock at byte 1048576: it ends first" \
	vverify --hash-offset=1048576 "$W/two" "$W/sb" "$root"
refused 1 "hash file '$W/sb': --hash does not match its superblock" \
	vverify --hash=sha512 "$W/two" "$W/sb" "$root"
refused 1 "--data-block-size does not match its superblock" \
	vverify --data-block-size=512 "$W/two" "$W/sb" "$root"
refused 1 "--salt does not match its superblock" vverify --salt=- "$W/two" "$W/sb" "$root"
refused 1 "--format does not match its superblock" vverify --format=0 "$W/two" "$W/sb" "$root"
refused 1 "root hash is 20 bytes, but sha256 gives 32" \
	vverify "$W/two" "$W/sb" 0123456789012345678901234567890123456789
refused 1 "cannot open hash file '$W/missing'" vverify "$W/two" "$W/missing" "$root"
refused 1 "cannot open data file '$W/missing'" vverify "$W/missing" "$W/sb" "$root"
refused 1 "data file '$W/odd' is 5000 bytes, not a multiple" \
	vverify --no-superblock --salt=$SALT "$W/odd" "$W/nosb" "$root_nosb"
refused 1 "data file '$W/two' holds 8192 bytes, but 4 data blocks" \
	vverify --no-superblock --salt=$SALT --data-blocks=4 "$W/two" "$W/nosb" "$root_nosb"
# a hash file cut short is a verification failure naming where it ends
head -c $((B + 100)) "$W/sb" >"$TMP/short"
refused 3 "hash file '$TMP/short': hash data ends at byte 4196, but the tree ends at byte 8192" \
	vverify "$W/two" "$TMP/short" "$root"
# and the untouched files still verify
expect_exit 0 vverify "$W/two" "$W/sb" "$root"
expect_exit 0 vverify --no-superblock --salt=$SALT "$W/two" "$W/nosb" "$root_nosb"
