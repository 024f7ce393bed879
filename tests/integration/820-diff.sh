# vforge diff on real builds of variants/demo: one changed file, another
# seed, and an identical rebuild; on the disk image, build.json and the zstd
# update targets. Needs the demo packages (make packages).
. tests/integration/lib.sh
[ -f variants/packages/dist/init.json ] || fail "the demo packages are not built (make packages)"
need realpath

N=demo-x86_64-1.0.0
# b: the demo with one byte of /usr/lib/os-release changed (VARIANT_ID=demo -> demx, byte 58)
mkdir "$TMP/v"
rel=$(realpath --relative-to="$TMP/v" variants/demo/variant.json)
cat >"$TMP/v/variant.json" <<JSON
{ "include": ["$rel"],
  "files": [ { "path": "/usr/lib/os-release",
               "content": "NAME=\"vforge demo\"\nID=demo\nVERSION_ID=1.0.0\nVARIANT_ID=demx\n" } ] }
JSON
expect_exit 0 "$VFORGE" build variants/demo -o "$TMP/a"
expect_exit 0 "$VFORGE" build "$TMP/v" -o "$TMP/b"
expect_exit 0 "$VFORGE" build variants/demo -o "$TMP/c" --seed 0123
(cd / && TZ=Asia/Tokyo && export TZ && "$VFORGE" build "$VF_TOP/variants/demo" -o "$TMP/d" --threads 1 >/dev/null) ||
	fail "the rebuild failed"

# --- identical builds: exit 0, nothing printed
for f in $N.img build.json $N-root.ext4.zst $N-boot.ext4.zst $N-root.verity.zst; do
	expect_exit 0 "$VFORGE" diff "$TMP/a/$f" "$TMP/d/$f"
	[ ! -s "$TMP/out" ] || { cat "$TMP/out"; fail "identical $f: something printed"; }
done
expect_exit 0 "$VFORGE" diff --json "$TMP/a/$N.img" "$TMP/d/$N.img"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['identical'] is True and j['findings'] == [] and j['a']['kind'] == 'gpt', j" "$TMP/out"

# --- one changed file: the disk
expect_exit 3 "$VFORGE" diff "$TMP/a/$N.img" "$TMP/b/$N.img"
expect_out "ROOT-A: /usr/lib/os-release: content differs (bytes 58–58)"
expect_out "HASH-A: hash tree: differs ("
expect_out "only the tree differs, because the data did (ROOT-A differs)"
expect_out "BOOT-A: /cmdline: content differs ("
expect_out "ROOT-A: partition table: uuid "
# nothing else in ROOT-A: one path, no superblock or group change (same size, same blocks)
[ "$(grep -c '^ROOT-A: /' "$TMP/out")" = 1 ] || { cat "$TMP/out"; fail "ROOT-A: more than one path differs"; }
grep -q '^ROOT-A: superblock' "$TMP/out" && fail "ROOT-A's superblock reported for a one-byte change"
grep -q '^DATA\|^PRIVATE\|^BOOT-B\|^ROOT-B' "$TMP/out" && { cat "$TMP/out"; fail "untouched partitions reported"; }
# partition table order: BOOT-A, ROOT-A, HASH-A
order=$(cut -d: -f1 "$TMP/out" | uniq | tr '\n' ' ')
[ "$order" = "disk BOOT-A ROOT-A HASH-A " ] || fail "order of scopes: $order"

# the same as JSON, for tools
expect_exit 3 "$VFORGE" diff --json "$TMP/a/$N.img" "$TMP/b/$N.img"
python3 - "$TMP/out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["identical"] is False and j["truncated"] is False
f = [x for x in j["findings"] if x["scope"] == "ROOT-A" and x["object"] == "/usr/lib/os-release"]
assert len(f) == 1 and f[0]["field"] == "content" and f[0]["detail"] == "bytes 58\u201358", f
u = [x for x in j["findings"] if x["scope"] == "ROOT-A" and x["field"] == "uuid"][0]
assert u["object"] == "partition table" and u["a"] != u["b"], u
PY

# --- the update target of ROOT (zstd around ext4) and build.json
expect_exit 3 "$VFORGE" diff "$TMP/a/$N-root.ext4.zst" "$TMP/b/$N-root.ext4.zst"
[ "$(cat "$TMP/out")" = "/usr/lib/os-release: content differs (bytes 58–58)" ] ||
	{ cat "$TMP/out"; fail "root target: not exactly the one file"; }
expect_exit 3 "$VFORGE" diff --json "$TMP/a/$N-root.ext4.zst" "$TMP/b/$N-root.ext4.zst"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['a']['kind']=='zstd' and j['a']['content']=='ext4', j['a']" "$TMP/out"
expect_exit 3 "$VFORGE" diff "$TMP/a/$N-root.verity.zst" "$TMP/b/$N-root.verity.zst"
expect_out "hash tree: differs ("
expect_exit 3 "$VFORGE" diff "$TMP/a/build.json" "$TMP/b/build.json"
root_a=$(python3 -c "import json; print(json.load(open('$TMP/a/build.json'))['verity']['root_hash'])")
root_b=$(python3 -c "import json; print(json.load(open('$TMP/b/build.json'))['verity']['root_hash'])")
expect_out "verity.root_hash: \"$root_a\" vs \"$root_b\""
expect_out "partitions[1].uuid: \""
grep -q '^seed\|^variant' "$TMP/out" && fail "build.json: unchanged keys reported"

# --- another seed: every derived identifier, named
expect_exit 3 "$VFORGE" diff "$TMP/a/$N.img" "$TMP/c/$N.img"
guid_a=$(python3 -c "import json; print(json.load(open('$TMP/a/build.json'))['disk']['guid'])")
guid_c=$(python3 -c "import json; print(json.load(open('$TMP/c/build.json'))['disk']['guid'])")
expect_out "disk: guid $guid_a vs $guid_c"
expect_out "HASH-A: verity superblock: salt "
expect_out "the parameters above differ"
expect_out "DATA: partition table: uuid "
expect_out "ROOT-A: superblock: uuid "
expect_out "hash_seed "
grep -q '^ROOT-A: /' "$TMP/out" && { cat "$TMP/out"; fail "another seed: a path reported"; }
# no path differs, so the blocks that do are named by structure
expect_out "ROOT-A: block 3: differs: directory block 0 of /"
expect_exit 3 "$VFORGE" diff "$TMP/a/build.json" "$TMP/c/build.json"
expect_out "seed: \""
expect_out "disk.guid: \"$guid_a\" vs \"$guid_c\""

# --- kinds, usage and errors
expect_exit 3 "$VFORGE" diff "$TMP/a/build.json" "$TMP/a/$N.img"
expect_out "kind json vs gpt"
expect_exit 2 "$VFORGE" diff "$TMP/a/build.json"
expect_err "expected two files to compare, got 1"
expect_exit 2 "$VFORGE" diff --bogus a b
expect_err "unknown option '--bogus'"
expect_exit 1 "$VFORGE" diff "$TMP/a/build.json" "$TMP/nope.json"
expect_err "cannot open '$TMP/nope.json'"
expect_exit 0 "$VFORGE" diff --help
expect_out "Exit status: 0 identical, 3 different"
echo "ok"
