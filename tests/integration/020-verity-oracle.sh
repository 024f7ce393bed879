#!/bin/sh
# veritysetup is the oracle, in both directions: with a fixed salt and UUID,
# `vforge verity format` writes the same bytes and prints the same lines as
# `veritysetup format`; each tool verifies the other's trees (superblock or
# not, separate hash file or the tree after the data in one file); corruption
# is found by both, and vforge names the first bad block.
# shellcheck disable=SC2154 # j_* variables come from generated files
. tests/integration/lib.sh
set -eu
need veritysetup
need python3

SALT=5f0a6c3e9d1b2a4788c6e0f1d2b3a4958677e8f9a0b1c2d3e4f5061728394a5b
UUID=0d6f4c6e-2f5a-4a3b-9c7d-1e2f3a4b5c6d
B=4096

# flat FILE...: check each FILE holds one JSON object and write its members
# as shell assignments j_<key>='<value>' (nested objects as j_<outer>_<inner>;
# null, true and false spelled so) to FILE.sh, for `. FILE.sh`.
# One python3 for many files: its start-up dominates.
flat() {
	python3 -c 'import json, sys
def walk(prefix, d):
    for k, v in d.items():
        if isinstance(v, dict):
            walk(prefix + k + "_", v)
        else:
            v = "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
            print("%s%s=\x27%s\x27" % (prefix, k, v.replace("\x27", "\x27\\\x27\x27")))
for name in sys.argv[1:]:
    d = json.load(open(name))
    assert isinstance(d, dict), name + ": not an object"
    sys.stdout = open(name + ".sh", "w")
    walk("j_", d)
    sys.stdout.close()' "$@" || fail "not one JSON object each: $*"
}

# same_text A B: two format outputs agree on every line but the first
# ("VERITY header information for <hash file>")
same_text() {
	sed 1d "$1" >"$TMP/a.txt"; sed 1d "$2" >"$TMP/b.txt"
	cmp -s "$TMP/a.txt" "$TMP/b.txt" || {
		diff -u "$TMP/a.txt" "$TMP/b.txt" || true
		fail "format output differs from veritysetup's: $3"
	}
}

opts_of() {
	case $1 in
	default) echo "" ;;
	nosb) echo "--no-superblock" ;;
	fmt0) echo "--format=0" ;;
	sha512) echo "--hash=sha512" ;;
	sha1) echo "--hash=sha1" ;;
	sha1-fmt0) echo "--hash=sha1 --format=0" ;;
	small) echo "--data-block-size=512 --hash-block-size=1024" ;;
	big) echo "--hash-block-size=65536" ;;
	nosb-fmt0) echo "--no-superblock --format=0 --hash=sha512 --data-block-size=1024 --hash-block-size=512" ;;
	esac
}

for n in 1 2 128 129 16385; do
	gen "$n" $((n * B)) "$TMP/d$n"
done

# --- format: same bytes, same root, same output; each verifies the other's tree
for n in 1 2 128 129 16385; do
	for set in default nosb fmt0 sha512 sha1 sha1-fmt0 small big nosb-fmt0; do
		case $n:$set in
		16385:default | 16385:fmt0 | 16385:sha512 | 16385:small | 16385:nosb) ;;
		16385:*) continue ;;
		esac
		opts=$(opts_of $set)
		what="$n blocks, $set ($opts)"
		d=$TMP/d$n
		rm -f "$TMP/vs.hash" "$TMP/vf.hash"
		# shellcheck disable=SC2086
		veritysetup format --salt=$SALT --uuid=$UUID $opts "$d" "$TMP/vs.hash" >"$TMP/vs.out" ||
			fail "veritysetup format failed: $what"
		# shellcheck disable=SC2086
		expect_exit 0 "$VFORGE" verity format --salt=$SALT --uuid=$UUID $opts "$d" "$TMP/vf.hash"
		cp "$TMP/out" "$TMP/vf.out"
		cmp "$TMP/vs.hash" "$TMP/vf.hash" || fail "hash file differs from veritysetup's: $what"
		root=$(root_of "$TMP/vf.out")
		[ -n "$root" ] || fail "no root hash in the output: $what"
		[ "$root" = "$(root_of "$TMP/vs.out")" ] ||
			fail "root hash '$root' differs from veritysetup's '$(root_of "$TMP/vs.out")': $what"
		[ "$(head -1 "$TMP/vf.out")" = "VERITY header information for $TMP/vf.hash" ] ||
			fail "bad first line: $(head -1 "$TMP/vf.out")"
		same_text "$TMP/vs.out" "$TMP/vf.out" "$what"

		vopts=""
		case " $opts " in *" --no-superblock "*) vopts="--salt=$SALT $opts" ;; esac
		# shellcheck disable=SC2086
		veritysetup verify $vopts "$d" "$TMP/vf.hash" "$root" </dev/null ||
			fail "veritysetup verify rejects vforge's tree: $what"
		# shellcheck disable=SC2086
		expect_exit 0 "$VFORGE" verity verify $vopts "$d" "$TMP/vs.hash" "$root"
		expect_out "verified: "
		[ $n = 16385 ] && continue

		# --json: the same tree; the output is checked below, all in one python3
		rm -f "$TMP/vf.hash"
		# shellcheck disable=SC2086
		expect_exit 0 "$VFORGE" verity format --json --salt=$SALT --uuid=$UUID $opts "$d" "$TMP/vf.hash"
		cmp -s "$TMP/vs.hash" "$TMP/vf.hash" || fail "--json changed the hash file: $what"
		mkdir -p "$TMP/json"
		cp "$TMP/out" "$TMP/json/$n-$set.json"
		cp "$TMP/vs.out" "$TMP/json/$n-$set.text"
		wc -c <"$TMP/vf.hash" | tr -d ' ' >"$TMP/json/$n-$set.size"
	done
done

# --- format --json: one object with the parameters and root hash of the text
tab=$(printf '\t')
flat "$TMP"/json/*.json
for j in "$TMP"/json/*.json; do
	case=${j%.json}
	what="--json, $(basename "$case")"
	# shellcheck source=/dev/null
	. "$j.sh"
	seen=0
	while IFS=$tab read -r label value; do
		case $label in
		"Hash type:"*) key=hash_type ;;
		"Data blocks:"*) key=data_blocks ;;
		"Data block size:"*) key=data_block_size ;;
		"Hash block size:"*) key=hash_block_size ;;
		"Hash algorithm:"*) key=hash_algorithm ;;
		"Salt:"*) key=salt ;;
		"Root hash:"*) key=root_hash ;;
		*) continue ;;
		esac
		eval "got=\$j_$key"
		[ "$got" = "$value" ] || fail "$what: $key is '$got', veritysetup says '$value'"
		seen=$((seen + 1))
	done <"$case.text"
	[ $seen = 7 ] || fail "$what: found $seen of 7 parameters in veritysetup's output"
	[ "$j_hash_offset" = 0 ] || fail "$what: hash_offset is $j_hash_offset"
	[ "$j_hash_size" = "$(cat "$case.size")" ] ||
		fail "$what: hash_size $j_hash_size is not the file size $(cat "$case.size")"
	case $case in
	*-nosb*)
		[ "$j_uuid" = null ] || fail "$what: uuid is $j_uuid without a superblock"
		[ "$j_superblock" = false ] || fail "$what: superblock is $j_superblock" ;;
	*)
		[ "$j_uuid" = $UUID ] || fail "$what: uuid is $j_uuid"
		[ "$j_superblock" = true ] || fail "$what: superblock is $j_superblock" ;;
	esac
done

# --- the tree after the data in the same file (--hash-offset), format 0 and 1
n=129
off=$((n * B))
for fmt in 0 1; do
	for sb in sb nosb; do
		if [ $sb = sb ]; then sbopts="--uuid=$UUID"; vopts=""; else
			sbopts="--no-superblock"; vopts="--no-superblock --format=$fmt --salt=$SALT"; fi
		what="one file, format $fmt, $sb"
		cp "$TMP/d$n" "$TMP/img.vs"
		cp "$TMP/d$n" "$TMP/img.vf"
		common="--format=$fmt --salt=$SALT --data-blocks=$n --hash-offset=$off"
		# shellcheck disable=SC2086
		veritysetup format $common $sbopts "$TMP/img.vs" "$TMP/img.vs" >"$TMP/vs.out" ||
			fail "veritysetup format failed: $what"
		# shellcheck disable=SC2086
		expect_exit 0 "$VFORGE" verity format $common $sbopts "$TMP/img.vf" "$TMP/img.vf"
		cp "$TMP/out" "$TMP/vf.out"
		cmp "$TMP/img.vs" "$TMP/img.vf" || fail "image differs from veritysetup's: $what"
		cmp -n $off "$TMP/d$n" "$TMP/img.vf" || fail "the data changed: $what"
		same_text "$TMP/vs.out" "$TMP/vf.out" "$what"
		root=$(root_of "$TMP/vf.out")
		[ "$root" = "$(root_of "$TMP/vs.out")" ] || fail "root hash differs: $what"
		# shellcheck disable=SC2086
		veritysetup verify $vopts --data-blocks=$n --hash-offset=$off \
			"$TMP/img.vf" "$TMP/img.vf" "$root" </dev/null ||
			fail "veritysetup verify rejects vforge's image: $what"
		# shellcheck disable=SC2086
		expect_exit 0 "$VFORGE" verity verify $vopts --data-blocks=$n --hash-offset=$off \
			"$TMP/img.vs" "$TMP/img.vs" "$root"
		expect_out "verified: $n data blocks"
	done
done

# --- corruption: both tools refuse; vforge exits 3 naming the first bad block
d=$TMP/d129
rm -f "$TMP/h"
expect_exit 0 "$VFORGE" verity format --salt=$SALT --uuid=$UUID "$d" "$TMP/h"
root=$(root_of "$TMP/out")
# hash file: superblock, top level (block 1), leaves (blocks 2 and 3)
for blk in 0 77 127 128; do
	cp "$d" "$TMP/bad"
	flip_byte "$TMP/bad" $((blk * B + 123))
	expect_exit 3 "$VFORGE" verity verify "$TMP/bad" "$TMP/h" "$root"
	expect_err "data block $blk (byte $((blk * B))) does not match"
	expect_err "'$TMP/bad'"
	[ ! -s "$TMP/out" ] || fail "a failed verify printed to stdout"
	if veritysetup verify "$TMP/bad" "$TMP/h" "$root" </dev/null >/dev/null 2>&1; then
		fail "veritysetup accepts data with block $blk corrupted"
	fi
done

# the first bad block is named, and --json says the same
cp "$d" "$TMP/bad"
flip_byte "$TMP/bad" $((100 * B + 7))
flip_byte "$TMP/bad" $((20 * B + 4095))
expect_exit 3 "$VFORGE" verity verify "$TMP/bad" "$TMP/h" "$root"
expect_err "data block 20 ("
expect_exit 3 "$VFORGE" verity verify --json "$TMP/bad" "$TMP/h" "$root"
cp "$TMP/out" "$TMP/verify.json"
flat "$TMP/verify.json"
# shellcheck source=/dev/null
. "$TMP/verify.json.sh"
[ "$j_verified" = false ] || fail "--json verified is not false"
[ "$j_failure_kind" = data_block ] || fail "--json failure.kind"
[ "$j_failure_block" = 20 ] || fail "--json failure.block"
[ "$j_failure_offset" = $((20 * B)) ] || fail "--json failure.offset"
expect_exit 0 "$VFORGE" verity verify --json "$d" "$TMP/h" "$root"
cp "$TMP/out" "$TMP/verify.json"
flat "$TMP/verify.json"
# shellcheck source=/dev/null
. "$TMP/verify.json.sh"
[ "$j_verified" = true ] || fail "--json verified is not true"
[ "$j_root_hash" = "$root" ] || fail "verify --json root_hash"

# small blocks, no superblock, format 0: block numbers count 512-byte blocks
opts="--no-superblock --format=0 --data-block-size=512 --hash-block-size=1024 --salt=$SALT"
rm -f "$TMP/h0"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" verity format $opts "$d" "$TMP/h0"
root0=$(root_of "$TMP/out")
cp "$d" "$TMP/bad"
flip_byte "$TMP/bad" $((3 * B + 700))
# shellcheck disable=SC2086
expect_exit 3 "$VFORGE" verity verify $opts "$TMP/bad" "$TMP/h0" "$root0"
expect_err "data block 25 (byte 12800)"
# shellcheck disable=SC2086
if veritysetup verify $opts "$TMP/bad" "$TMP/h0" "$root0" </dev/null >/dev/null 2>&1; then
	fail "veritysetup accepts corrupted data (format 0, 512-byte blocks)"
fi

# a leaf hash block: a digest, then the zero padding after the last digest
for off in $((3 * B + 10)) $((3 * B + 1000)) $((2 * B + 4000)); do
	cp "$TMP/h" "$TMP/badh"
	flip_byte "$TMP/badh" $off
	expect_exit 3 "$VFORGE" verity verify "$d" "$TMP/badh" "$root"
	expect_err "hash block $((off / B)) (level 0"
	expect_err "'$TMP/badh'"
	if veritysetup verify "$d" "$TMP/badh" "$root" </dev/null >/dev/null 2>&1; then
		fail "veritysetup accepts a hash file with byte $off flipped"
	fi
done

# the top hash block, or a wrong root hash: the root does not match
cp "$TMP/h" "$TMP/badh"
flip_byte "$TMP/badh" $((B + 33))
expect_exit 3 "$VFORGE" verity verify "$d" "$TMP/badh" "$root"
expect_err "root hash mismatch"
case $root in 0*) wrong=1${root#?} ;; *) wrong=0${root#?} ;; esac
expect_exit 3 "$VFORGE" verity verify "$d" "$TMP/h" "$wrong"
expect_err "root hash mismatch: expected $wrong"
if veritysetup verify "$d" "$TMP/h" "$wrong" </dev/null >/dev/null 2>&1; then
	fail "veritysetup accepts a wrong root hash"
fi
# a single data block is its own root
rm -f "$TMP/h1"
expect_exit 0 "$VFORGE" verity format --salt=$SALT "$TMP/d1" "$TMP/h1"
root1=$(root_of "$TMP/out")
cp "$TMP/d1" "$TMP/bad"
flip_byte "$TMP/bad" 4095
expect_exit 3 "$VFORGE" verity verify "$TMP/bad" "$TMP/h1" "$root1"
expect_err "data block 0 (byte 0)"
if veritysetup verify "$TMP/bad" "$TMP/h1" "$root1" </dev/null >/dev/null 2>&1; then
	fail "veritysetup accepts a corrupted single block"
fi

# --- without --salt and --uuid: random ones, stored in the superblock
field() { awk -F'\t' -v f="$1:" 'index($1, f) == 1 {print $2}' "$2"; }
for i in 1 2; do
	rm -f "$TMP/r$i"
	expect_exit 0 "$VFORGE" verity format "$d" "$TMP/r$i"
	cp "$TMP/out" "$TMP/r$i.out"
	root=$(field "Root hash" "$TMP/r$i.out")
	salt=$(field Salt "$TMP/r$i.out")
	uuid=$(field UUID "$TMP/r$i.out")
	echo "$salt" | grep -Eqx '[0-9a-f]{64}' || fail "random salt '$salt' is not 32 bytes of hex"
	echo "$uuid" | grep -Eqx '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}' ||
		fail "random UUID '$uuid' is not a version 4 UUID"
	veritysetup verify "$d" "$TMP/r$i" "$root" </dev/null ||
		fail "veritysetup verify rejects a tree with a random salt"
	veritysetup dump "$TMP/r$i" >"$TMP/dump" || fail "veritysetup dump failed"
	[ "$(field Salt "$TMP/dump")" = "$salt" ] ||
		fail "veritysetup dump shows salt '$(field Salt "$TMP/dump")', vforge printed '$salt'"
	[ "$(field UUID "$TMP/dump")" = "$uuid" ] ||
		fail "veritysetup dump shows UUID '$(field UUID "$TMP/dump")', vforge printed '$uuid'"
done
for f in "Root hash" Salt UUID; do
	[ "$(field "$f" "$TMP/r1.out")" != "$(field "$f" "$TMP/r2.out")" ] ||
		fail "two formats without --salt and --uuid print the same $f"
done
# the other tree's root does not fit
expect_exit 3 "$VFORGE" verity verify "$d" "$TMP/r2" "$(field "Root hash" "$TMP/r1.out")"
expect_err "root hash mismatch"
