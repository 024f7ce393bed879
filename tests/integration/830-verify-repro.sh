# vforge verify-repro: two builds under different conditions compared; a
# deliberately non-reproducible input caught and explained; --against a
# published build.
. tests/integration/lib.sh
need python3
V=variants/demo
W=$TMP/work

# reproducible: exit 0, every output named identical, the work directory removed
expect_exit 0 "$VFORGE" verify-repro "$V" --work "$W"
expect_out "build a: TZ=UTC LC_ALL=C umask 022 threads 1"
expect_out "build b: TZ=Pacific/Chatham LC_ALL=C.UTF-8 umask 077"
expect_out "reproducible: all 5 outputs identical"
for f in build.json demo-x86_64-1.0.0.img demo-x86_64-1.0.0-root.ext4.zst; do
	grep -q "identical  $f " "$TMP/out" || fail "$f not reported identical"
done
[ ! -e "$W" ] || fail "the work directory was kept without --keep"

# --json, --keep
expect_exit 0 "$VFORGE" verify-repro "$V" --work "$W" --keep --json
python3 - "$TMP/out" "$W" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["reproducible"] is True, r
assert r["outputs"] == 5 and r["differences"] == [], r
assert r["a"]["tz"] == "UTC" and r["b"]["tz"] == "Pacific/Chatham", r
assert r["a"]["umask"] == "022" and r["b"]["umask"] == "077", r
assert r["a"]["threads"] == 1 and r["b"]["threads"] >= 2, r
assert r["work"] == sys.argv[2], r
PY
[ -d "$W/out-a" ] && [ -d "$W/out-b" ] || fail "--keep did not keep the builds"
# build b read its sources through disorderfs (directory entries shuffled) where FUSE works
order=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["b"]["directory_order"])' "$TMP/out")
if command -v disorderfs >/dev/null 2>&1 && mkdir -p "$TMP/fa" "$TMP/fb" &&
	disorderfs -q "$TMP/fa" "$TMP/fb" >/dev/null 2>&1; then
	fusermount3 -u "$TMP/fb" 2>/dev/null || fusermount -u "$TMP/fb" 2>/dev/null || umount "$TMP/fb"
	case $order in "shuffled (disorderfs over "*) ;; *) fail "directory order not varied: $order" ;; esac
else
	echo "note: disorderfs cannot mount here: $order"
fi
mount | grep -q "$W/src-b" && fail "the disorderfs mount was left behind"
[ ! -e "$W/src-b" ] || fail "the mount point was left behind"
[ -f "$W/a.log" ] && [ -f "$W/b.log" ] || fail "no build logs"
# the second build ran in its deep directory with umask 077: its outputs say so
[ "$(stat -c %a "$W/out-b")" = 700 ] && [ "$(stat -c %a "$W/out-a")" = 755 ] ||
	fail "the builds did not run with umasks 022 and 077"
rm -rf "$W"

# a published build: identical, then one built with another seed
expect_exit 0 "$VFORGE" build "$V" -o "$TMP/pub"
expect_exit 0 "$VFORGE" verify-repro "$V" --against "$TMP/pub" --work "$W"
expect_out "reproducible: all"
expect_out "identical to the published build"
rm -rf "$W"
expect_exit 0 "$VFORGE" verify-repro "$V" --against "$TMP/pub/build.json" --work "$W"
rm -rf "$W"
expect_exit 0 "$VFORGE" build "$V" -o "$TMP/other" --seed 0123456789abcdef
expect_exit 3 "$VFORGE" verify-repro "$V" --against "$TMP/other" --work "$W"
expect_out "DIFFERS    demo-x86_64-1.0.0.img"
expect_out "vforge diff on demo-x86_64-1.0.0.img:"
expect_out "not reproducible:"
rm -rf "$W"

# a deliberately non-reproducible input (a test-only hook stamps the wall
# clock into /etc/stamp): caught, and the diff names the file and what differs
VFORGE_TEST_UNREPRODUCIBLE=/etc/stamp expect_exit 3 "$VFORGE" verify-repro "$V" --work "$W"
expect_out "DIFFERS    demo-x86_64-1.0.0.img"
expect_out "vforge diff on demo-x86_64-1.0.0.img:"
grep -E "ROOT-A: /etc/stamp: .*content differs" "$TMP/out" >/dev/null ||
	{ cat "$TMP/out"; fail "the diff does not name /etc/stamp's content"; }
grep -E "ROOT-A: /etc/stamp: .*mtime" "$TMP/out" >/dev/null ||
	{ cat "$TMP/out"; fail "the diff does not name /etc/stamp's mtime"; }
[ -d "$W/out-a" ] || fail "the evidence of a mismatch was not kept"
rm -rf "$W"
VFORGE_TEST_UNREPRODUCIBLE=/etc/stamp expect_exit 3 "$VFORGE" verify-repro "$V" --work "$W" --json
python3 - "$TMP/out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["reproducible"] is False, r
names = {d["name"] for d in r["differences"]}
assert "demo-x86_64-1.0.0.img" in names, names
assert "diff" in r and r["diff"], r
assert "/etc/stamp" in json.dumps(r["diff"]), r["diff"]
PY
rm -rf "$W"

# errors
expect_exit 2 "$VFORGE" verify-repro
expect_exit 2 "$VFORGE" verify-repro "$V" extra
expect_exit 2 "$VFORGE" verify-repro "$V" --bogus
expect_exit 1 "$VFORGE" verify-repro "$TMP/no-such-variant"
expect_err "no-such-variant"
mkdir -p "$W"; : >"$W/file"
expect_exit 1 "$VFORGE" verify-repro "$V" --work "$W"
expect_err "is not empty"
expect_exit 1 "$VFORGE" verify-repro "$V" --against "$TMP/nothing-here" --work "$TMP/w2"
expect_err "nothing-here"
echo '{"outputs": [{"name": "../x", "size": 1, "sha256": "00"}]}' >"$TMP/bad.json"
expect_exit 1 "$VFORGE" verify-repro "$V" --against "$TMP/bad.json" --work "$TMP/w3"
expect_err "outputs[0]"
echo ok
