#!/bin/sh
# The same inputs give the same hash file whatever the thread count, time
# zone, umask or working directory; a sparse file hashes as veritysetup does;
# a new hash file is 0600; formatting into an existing hash file at
# --hash-offset keeps what lies before the offset, as veritysetup does.
. tests/integration/lib.sh
set -eu
need veritysetup

case $VFORGE in /*) ;; *) VFORGE=$PWD/$VFORGE ;; esac
SALT=9e8d7c6b5a4938271605f4e3d2c1b0a99e8d7c6b5a4938271605f4e3d2c1b0a9
UUID=5b1e0f2a-7c3d-4e8f-a9b0-c1d2e3f40516
B=4096

# same_text A B WHAT: two format outputs agree on every line but the first
same_text() {
	sed 1d "$1" >"$TMP/a.txt"; sed 1d "$2" >"$TMP/b.txt"
	cmp -s "$TMP/a.txt" "$TMP/b.txt" || { diff -u "$TMP/a.txt" "$TMP/b.txt" || true; fail "$3"; }
}

mode_of() { stat -c %a "$1"; }

# --- threads: the same bytes and output for 1, 2, 5 and 64 threads
gen 40 $((4099 * B)) "$TMP/data"
gen 41 $((3 * B)) "$TMP/three"
for opts in "" "--data-block-size=512 --hash-block-size=1024" "--format=0 --hash=sha1 --no-superblock"; do
	for data in data three; do
		rm -f "$TMP/ref"
		# shellcheck disable=SC2086
		expect_exit 0 "$VFORGE" verity format --threads=1 --salt=$SALT --uuid=$UUID $opts "$TMP/$data" "$TMP/ref"
		cp "$TMP/out" "$TMP/ref.out"
		for t in 2 5 64; do
			rm -f "$TMP/h"
			# shellcheck disable=SC2086
			expect_exit 0 "$VFORGE" verity format --threads=$t --salt=$SALT --uuid=$UUID $opts "$TMP/$data" "$TMP/h"
			cmp "$TMP/ref" "$TMP/h" || fail "--threads=$t gives another hash file ($data, $opts)"
			same_text "$TMP/ref.out" "$TMP/out" "--threads=$t gives other output ($data, $opts)"
		done
	done
done

# verify names the first bad block whatever the thread count
rm -f "$TMP/ref"
expect_exit 0 "$VFORGE" verity format --salt=$SALT --uuid=$UUID "$TMP/data" "$TMP/ref"
cp "$TMP/out" "$TMP/ref.txt"
root=$(root_of "$TMP/out")
cp "$TMP/data" "$TMP/bad"
flip_byte "$TMP/bad" $((4000 * B + 1))
flip_byte "$TMP/bad" $((1025 * B + 2))
flip_byte "$TMP/bad" $((1024 * B + 4095))
for t in 1 2 5 64; do
	expect_exit 0 "$VFORGE" verity verify --threads=$t "$TMP/data" "$TMP/ref" "$root"
	expect_exit 3 "$VFORGE" verity verify --threads=$t "$TMP/bad" "$TMP/ref" "$root"
	expect_err "data block 1024 ("
done

# --- time zone, umask, locale and working directory change nothing
mkdir -p "$TMP/elsewhere/deeper"
for env in "TZ=UTC" "TZ=Pacific/Chatham" "TZ=America/St_Johns" "TZ=XYZ-13:45"; do
	for mask in 022 077 000; do
		rm -f "$TMP/elsewhere/h"
		(
			cd "$TMP/elsewhere/deeper"
			umask $mask
			# shellcheck disable=SC2086
			env $env LC_ALL=C.UTF-8 "$VFORGE" verity format --threads=2 --salt=$SALT --uuid=$UUID ../../data ../h
		) >"$TMP/out" || fail "format failed with $env, umask $mask"
		cmp "$TMP/ref" "$TMP/elsewhere/h" || fail "another hash file with $env, umask $mask"
		same_text "$TMP/ref.txt" "$TMP/out" "other output with $env, umask $mask"
		[ "$(head -1 "$TMP/out")" = "VERITY header information for ../h" ] ||
			fail "first line: $(head -1 "$TMP/out")"
		# --- a new hash file is 0600 whatever the umask
		[ "$(mode_of "$TMP/elsewhere/h")" = 600 ] ||
			fail "new hash file is mode $(mode_of "$TMP/elsewhere/h") under umask $mask, not 600"
	done
done
# an existing hash file keeps its mode
chmod 640 "$TMP/elsewhere/h"
expect_exit 0 "$VFORGE" verity format --salt=$SALT --uuid=$UUID "$TMP/data" "$TMP/elsewhere/h"
[ "$(mode_of "$TMP/elsewhere/h")" = 640 ] ||
	fail "rewritten hash file is mode $(mode_of "$TMP/elsewhere/h"), not its old 640"
cmp "$TMP/ref" "$TMP/elsewhere/h" || fail "rewriting a hash file gives other bytes"

# --- a sparse 64 MiB file, mostly holes, as veritysetup hashes it
truncate -s 64M "$TMP/sparse"
for blk in 0 4097 9999 16383; do
	gen $blk $B "$TMP/blk"
	dd if="$TMP/blk" of="$TMP/sparse" bs=$B seek=$blk conv=notrunc status=none
done
[ "$(stat -c %s "$TMP/sparse")" = $((64 * 1024 * 1024)) ] || fail "sparse file has the wrong size"
for opts in "" "--format=0 --hash=sha512 --data-block-size=1024"; do
	rm -f "$TMP/vs" "$TMP/vf"
	# shellcheck disable=SC2086
	veritysetup format --salt=$SALT --uuid=$UUID $opts "$TMP/sparse" "$TMP/vs" >"$TMP/vs.out" ||
		fail "veritysetup format failed on the sparse file"
	# shellcheck disable=SC2086
	expect_exit 0 "$VFORGE" verity format --salt=$SALT --uuid=$UUID $opts "$TMP/sparse" "$TMP/vf"
	cmp "$TMP/vs" "$TMP/vf" || fail "sparse file: hash file differs from veritysetup's ($opts)"
	same_text "$TMP/vs.out" "$TMP/out" "sparse file: output differs from veritysetup's ($opts)"
	expect_exit 0 "$VFORGE" verity verify "$TMP/sparse" "$TMP/vf" "$(root_of "$TMP/out")"
done

# --- an existing hash file, tree at --hash-offset=8192: the first 8192 bytes stay
off=8192
gen 42 $((2 * B)) "$TMP/two"
gen 43 $off "$TMP/prefix"
for sbopts in "--uuid=$UUID" "--no-superblock"; do
	cp "$TMP/prefix" "$TMP/vs"
	cp "$TMP/prefix" "$TMP/vf"
	# shellcheck disable=SC2086
	veritysetup format --salt=$SALT $sbopts --hash-offset=$off "$TMP/two" "$TMP/vs" >"$TMP/vs.out" ||
		fail "veritysetup format --hash-offset=$off failed"
	# shellcheck disable=SC2086
	expect_exit 0 "$VFORGE" verity format --salt=$SALT $sbopts --hash-offset=$off "$TMP/two" "$TMP/vf"
	cmp -n $off "$TMP/prefix" "$TMP/vf" || fail "the first $off bytes changed ($sbopts)"
	cmp "$TMP/vs" "$TMP/vf" || fail "hash file at offset $off differs from veritysetup's ($sbopts)"
	same_text "$TMP/vs.out" "$TMP/out" "output at offset $off differs from veritysetup's ($sbopts)"
	root=$(root_of "$TMP/out")
	vopts=""
	[ "$sbopts" = --no-superblock ] && vopts="--no-superblock --salt=$SALT"
	# shellcheck disable=SC2086
	veritysetup verify $vopts --hash-offset=$off "$TMP/two" "$TMP/vf" "$root" </dev/null ||
		fail "veritysetup verify --hash-offset=$off rejects vforge's tree ($sbopts)"
	# shellcheck disable=SC2086
	expect_exit 0 "$VFORGE" verity verify $vopts --hash-offset=$off "$TMP/two" "$TMP/vs" "$root"
done

# An existing file longer than the offset: like veritysetup, vforge writes
# only the superblock and the tree, and keeps every other byte of the file
# (before the offset, between superblock and tree, and after the tree).
gen 44 100000 "$TMP/long"
cp "$TMP/long" "$TMP/vs"
cp "$TMP/long" "$TMP/vf"
veritysetup format --salt=$SALT --uuid=$UUID --hash-offset=$off "$TMP/two" "$TMP/vs" >"$TMP/vs.out" ||
	fail "veritysetup format --hash-offset=$off failed"
expect_exit 0 "$VFORGE" verity format --salt=$SALT --uuid=$UUID --hash-offset=$off "$TMP/two" "$TMP/vf"
root=$(root_of "$TMP/out")
cmp -n $off "$TMP/long" "$TMP/vf" || fail "the first $off bytes of a longer file changed"
cmp -i $off -n 512 "$TMP/vs" "$TMP/vf" || fail "superblock differs from veritysetup's"
cmp -i $((3 * B)) -n $B "$TMP/vs" "$TMP/vf" || fail "tree differs from veritysetup's"
cmp "$TMP/vs" "$TMP/vf" || fail "the file differs from veritysetup's (kept bytes)"
veritysetup verify --hash-offset=$off "$TMP/two" "$TMP/vf" "$root" </dev/null ||
	fail "veritysetup verify rejects vforge's tree in a longer file"
expect_exit 0 "$VFORGE" verity verify --hash-offset=$off "$TMP/two" "$TMP/vs" "$root"
