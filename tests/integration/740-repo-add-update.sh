#!/bin/sh
# vforge repo add-update: a build's update targets and its manifest.json entry
# (Bottlerocket's shape, rollout waves, max_version) published into a TUF
# repository; the outputs checked against build.json; refusals that publish
# nothing; manifest.json against manifests/update-manifest.schema.json (with
# python3 jsonschema when installed); vforge repo validate afterwards.
. tests/integration/lib.sh
need python3

NOW=1767225600 # 2026-01-01T00:00:00Z

# --- builds: a tiny variant (no packages, 1 MiB partitions) in three versions and
# one aarch64 build; each builds in a fraction of a second
mkdir -p "$TMP/v"
variant() { # NAME ARCH VERSION -> $TMP/v/NAME-ARCH-VERSION.json
	cat >"$TMP/v/$1-$2-$3.json" <<JSON
{
  "name": "$1", "version": "$3", "arch": "$2", "source_date_epoch": $NOW,
  "files": [ { "path": "/etc/os-release", "content": "ID=$1\nVERSION_ID=$3\n" },
             { "path": "/boot/vmlinuz", "content": "kernel $3" } ],
  "selinux": { "default": "system_u:object_r:os_t:s0" },
  "layout": { "boot_size": "1MiB", "root_size": "2MiB", "hash_size": "1MiB",
              "reserved_size": "1MiB", "private_size": "1MiB", "data_size": "8MiB" }
}
JSON
}
for spec in "tiny x86_64 1.0.0" "tiny x86_64 1.1.0" "tiny x86_64 1.10.0" "tiny aarch64 1.5.0"; do
	set -- $spec
	variant "$1" "$2" "$3"
	expect_exit 0 "$VFORGE" build "$TMP/v/$1-$2-$3.json" -o "$TMP/out-$2-$3"
done
B1=$TMP/out-x86_64-1.0.0/build.json
B2=$TMP/out-x86_64-1.1.0/build.json
B3=$TMP/out-x86_64-1.10.0/build.json
BA=$TMP/out-aarch64-1.5.0/build.json

# --- a repository: one ed25519 key for every role
expect_exit 0 "$VFORGE" key generate --type ed25519 -o "$TMP/k1.pem"
expect_exit 0 "$VFORGE" key generate --type ed25519 -o "$TMP/other.pem"
expect_exit 0 "$VFORGE" root init "$TMP/root.json" --now $NOW
expect_exit 0 "$VFORGE" root add-key "$TMP/root.json" "$TMP/k1.pem.pub" --role root,targets,snapshot,timestamp
expect_exit 0 "$VFORGE" root sign "$TMP/root.json" --key "$TMP/k1.pem"
R=$TMP/repo
expect_exit 0 "$VFORGE" repo create "$R" --root "$TMP/root.json" --key "$TMP/k1.pem" --now $NOW

# manifest REPO OUT: the current manifest.json target, found through timestamp ->
# snapshot -> targets (consistent snapshots), checked against its length and sha256
manifest() {
	python3 - "$1" "$2" <<'PY'
import hashlib, json, os, sys
repo, out = sys.argv[1], sys.argv[2]
md = lambda n: json.load(open(os.path.join(repo, "metadata", n)))["signed"]
snap = md("timestamp.json")["meta"]["snapshot.json"]["version"]
tv = md(f"{snap}.snapshot.json")["meta"]["targets.json"]["version"]
t = md(f"{tv}.targets.json")["targets"]["manifest.json"]
sha = t["hashes"]["sha256"]
data = open(os.path.join(repo, "targets", f"{sha}.manifest.json"), "rb").read()
assert len(data) == t["length"] and hashlib.sha256(data).hexdigest() == sha, "manifest.json does not match targets.json"
open(out, "wb").write(data)
PY
}
ts_version() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['signed']['version'])" "$R/metadata/timestamp.json"; }

# --- the first update, default waves from --now
expect_exit 0 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$B1" --now $NOW
expect_out "manifest.json: added tiny x86_64 1.0.0 (new manifest, 1 update); max_version 1.0.0"
expect_out "tiny-x86_64-1.0.0-boot.ext4.zst"
expect_out "tiny-x86_64-1.0.0-root.verity.zst"
expect_out "waves: 7, seed 0 at 2026-01-01T01:00:00Z to seed 1843 at 2026-01-07T00:00:00Z"
expect_out "published: targets version 2, snapshot version 2, timestamp version 2"
manifest "$R" "$TMP/m1.json"
python3 - "$TMP/m1.json" "$B1" "$R" <<'PY' || fail "first manifest.json"
import hashlib, json, os, sys
m = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2])); repo = sys.argv[3]
assert list(m) == ["migrations", "updates"] and m["migrations"] == {}, m
assert len(m["updates"]) == 1
u = m["updates"][0]
assert (u["variant"], u["arch"], u["version"], u["max_version"]) == ("tiny", "x86_64", "1.0.0", "1.0.0"), u
assert u["waves"] == {"0": "2026-01-01T01:00:00Z", "20": "2026-01-01T04:00:00Z",
                      "102": "2026-01-02T00:00:00Z", "307": "2026-01-03T00:00:00Z",
                      "819": "2026-01-05T00:00:00Z", "1228": "2026-01-06T00:00:00Z",
                      "1843": "2026-01-07T00:00:00Z"}, u["waves"]
assert list(u["waves"]) == ["0", "20", "102", "307", "819", "1228", "1843"], "waves not in seed order"
assert u["images"] == {"boot": "tiny-x86_64-1.0.0-boot.ext4.zst", "root": "tiny-x86_64-1.0.0-root.ext4.zst",
                       "hash": "tiny-x86_64-1.0.0-root.verity.zst"}, u["images"]
# every image is a target with build.json's length and sha256, stored under its consistent name
md = lambda n: json.load(open(os.path.join(repo, "metadata", n)))["signed"]
targets = md("2.targets.json")["targets"]
outs = {o["name"]: o for o in b["outputs"]}
for name in u["images"].values():
    t = targets[name]
    assert t["length"] == outs[name]["size"] and t["hashes"]["sha256"] == outs[name]["sha256"], name
    data = open(os.path.join(repo, "targets", outs[name]["sha256"] + "." + name), "rb").read()
    assert hashlib.sha256(data).hexdigest() == outs[name]["sha256"], name
assert sorted(targets) == sorted(list(u["images"].values()) + ["manifest.json"]), sorted(targets)
# the file itself: two-space indentation, sorted keys, a final newline
raw = open(sys.argv[1]).read()
assert raw.endswith("}\n") and raw.startswith('{\n  "migrations": {},\n  "updates": [\n    {\n      "arch"'), raw[:80]
PY

# --- a second version with a waves file, an hour later: max_version follows it
cat >"$TMP/waves.json" <<'JSON'
{"waves": [{"start_after": "30m", "fleet_percentage": 10},
           {"start_after": "2026-01-02T00:00:00+02:00", "fleet_percentage": 50},
           {"start_after": "2d", "fleet_percentage": 100}]}
JSON
expect_exit 0 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$B2" --waves "$TMP/waves.json" \
	--now $((NOW + 3600)) --json
python3 - "$TMP/out" <<'PY' || fail "--json summary"
import json, sys
s = json.load(open(sys.argv[1]))
assert (s["variant"], s["arch"], s["version"], s["max_version"], s["updates"]) == ("tiny", "x86_64", "1.1.0", "1.1.0", 2), s
assert s["published"] == {"targets": 3, "snapshot": 3, "timestamp": 3}, s["published"]
assert [t["name"] for t in s["targets"]] == ["tiny-x86_64-1.1.0-boot.ext4.zst", "tiny-x86_64-1.1.0-root.ext4.zst",
                                            "tiny-x86_64-1.1.0-root.verity.zst", "manifest.json"], s["targets"]
assert s["waves"] == [{"seed": 0, "time": "2026-01-01T01:30:00Z"}, {"seed": 204, "time": "2026-01-01T22:00:00Z"},
                      {"seed": 1024, "time": "2026-01-03T01:00:00Z"}], s["waves"]
PY
manifest "$R" "$TMP/m2.json"
python3 - "$TMP/m1.json" "$TMP/m2.json" <<'PY' || fail "second manifest.json"
import json, sys
m1 = json.load(open(sys.argv[1])); m2 = json.load(open(sys.argv[2]))
assert [u["version"] for u in m2["updates"]] == ["1.0.0", "1.1.0"]
assert all(u["max_version"] == "1.1.0" for u in m2["updates"]), m2
# the first update is untouched but for max_version
a = dict(m1["updates"][0]); a["max_version"] = "1.1.0"
assert m2["updates"][0] == a
assert m2["updates"][1]["waves"] == {"0": "2026-01-01T01:30:00Z", "204": "2026-01-01T22:00:00Z", "1024": "2026-01-03T01:00:00Z"}
PY

# --- another arch keeps its own max_version; 1.10.0 > 1.1.0 (numerically) for x86_64;
# SOURCE_DATE_EPOCH is the clock without --now
expect_exit 0 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$BA" --now $((NOW + 7200))
expect_out "added tiny aarch64 1.5.0 (3 updates); max_version 1.5.0 on the 1 update of tiny aarch64"
expect_exit 0 env SOURCE_DATE_EPOCH=$((NOW + 86400)) "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$B3"
expect_out "max_version 1.10.0 on the 3 updates of tiny x86_64"
expect_out "seed 0 at 2026-01-02T01:00:00Z"
manifest "$R" "$TMP/m3.json"
python3 - "$TMP/m3.json" <<'PY' || fail "manifest.json after the aarch64 build and 1.10.0"
import json, sys
m = json.load(open(sys.argv[1]))
got = [(u["arch"], u["version"], u["max_version"]) for u in m["updates"]]
assert got == [("x86_64", "1.0.0", "1.10.0"), ("x86_64", "1.1.0", "1.10.0"), ("aarch64", "1.5.0", "1.5.0"),
               ("x86_64", "1.10.0", "1.10.0")], got
PY

# --- refusals that publish nothing: the timestamp stays as it was
cp "$R/metadata/timestamp.json" "$TMP/ts.before"
unchanged() { cmp -s "$R/metadata/timestamp.json" "$TMP/ts.before" || fail "$1: the repository changed"; }
# the same version again
expect_exit 1 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$B1" --now $((NOW + 90000))
expect_err "manifest.json: variant tiny, arch x86_64: version 1.0.0 is already in the manifest"
unchanged "a duplicate version"
# a tampered output: one byte of the ROOT image flipped
sed 's/"version": "1.0.0"/"version": "1.0.9"/' "$TMP/v/tiny-x86_64-1.0.0.json" >"$TMP/v/t109.json"
expect_exit 0 "$VFORGE" build "$TMP/v/t109.json" -o "$TMP/bad"
good=$(python3 -c "import json,sys; print([o['sha256'] for o in json.load(open(sys.argv[1]))['outputs'] if o['name'].endswith('-root.ext4.zst')][0])" "$TMP/bad/build.json")
flip_byte "$TMP/bad/tiny-x86_64-1.0.9-root.ext4.zst" 100
bad=$(sha256sum "$TMP/bad/tiny-x86_64-1.0.9-root.ext4.zst" | cut -d' ' -f1)
expect_exit 3 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$TMP/bad/build.json" --now $((NOW + 90000))
expect_err "build output '$TMP/bad/tiny-x86_64-1.0.9-root.ext4.zst': sha256 $bad, build.json says $good"
unchanged "a tampered output"
flip_byte "$TMP/bad/tiny-x86_64-1.0.9-root.ext4.zst" 100
# one byte more in the HASH image
printf 'x' >>"$TMP/bad/tiny-x86_64-1.0.9-root.verity.zst"
size=$(stat -c %s "$TMP/bad/tiny-x86_64-1.0.9-root.verity.zst")
expect_exit 3 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$TMP/bad/build.json" --now $((NOW + 90000))
expect_err "build output '$TMP/bad/tiny-x86_64-1.0.9-root.verity.zst': $size bytes, build.json says $((size - 1))"
unchanged "a longer output"
# a missing output
rm "$TMP/bad/tiny-x86_64-1.0.9-root.verity.zst"
expect_exit 1 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$TMP/bad/build.json" --now $((NOW + 90000))
expect_err "tiny-x86_64-1.0.9-root.verity.zst"
unchanged "a missing output"
# an output build.json does not list
python3 - "$TMP/bad/build.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["outputs"] = [o for o in b["outputs"] if not o["name"].endswith("-boot.ext4.zst")]
json.dump(b, open(sys.argv[1], "w"))
PY
expect_exit 1 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$TMP/bad/build.json" --now $((NOW + 90000))
expect_err "outputs: no entry named 'tiny-x86_64-1.0.9-boot.ext4.zst' (the boot image)"
# a version that is not SemVer
sed 's/"version": "1.0.0"/"version": "1.0"/' "$B1" >"$TMP/bad/v.json"
expect_exit 1 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$TMP/bad/v.json" --now $((NOW + 90000))
expect_err "variant.version: \"1.0\": expected a SemVer 2.0 version"
unchanged "a bad version"
# waves files: bad percentages, bad JSON, missing file
printf '{"waves": [{"start_after": "1h", "fleet_percentage": 50}, {"start_after": "2h", "fleet_percentage": 40}]}' >"$TMP/w-bad.json"
expect_exit 1 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$TMP/out-x86_64-1.0.0/build.json" \
	--waves "$TMP/w-bad.json" --now $((NOW + 90000))
expect_err "waves file '$TMP/w-bad.json': waves[1]: fleet_percentage 40 is not above waves[0]'s 50"
printf '{"waves": [{"start_after": "1h", "fleet_percentage": 90}]}' >"$TMP/w-bad.json"
expect_exit 1 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$B1" --waves "$TMP/w-bad.json" --now $NOW
expect_err "waves[0]: the last wave must reach fleet_percentage 100, got 90"
printf '{"waves": [{"start_after": "1h", "fleet_percentage": 100},]}' >"$TMP/w-bad.json"
expect_exit 1 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$B1" --waves "$TMP/w-bad.json" --now $NOW
expect_err "waves file '$TMP/w-bad.json': line 1"
expect_exit 1 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$B1" --waves "$TMP/nope.json" --now $NOW
expect_err "--waves: cannot open '$TMP/nope.json'"
# a key root does not authorise
expect_exit 0 "$VFORGE" build "$TMP/v/t109.json" -o "$TMP/good109"
expect_exit 1 "$VFORGE" repo add-update "$R" --key "$TMP/other.pem" --build "$TMP/good109/build.json" --now $((NOW + 90000))
expect_err "threshold"
unchanged "an unauthorised key"
# usage errors
expect_exit 2 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem"
expect_err "--build <outdir>/build.json is required"
expect_exit 2 "$VFORGE" repo add-update "$R" --build "$B1"
expect_err "at least one --key is required"
expect_exit 2 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$B1" --max-version 2
expect_err "--max-version: \"2\": expected a SemVer 2.0 version"
expect_exit 2 "$VFORGE" repo add-update --key "$TMP/k1.pem" --build "$B1"
expect_err "missing <repo>"
expect_exit 2 "$VFORGE" repo add-update "$R" "$R" --key "$TMP/k1.pem" --build "$B1"
expect_err "unexpected operand"
expect_exit 2 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$B1" --colour x
expect_err "unknown option '--colour'"
expect_exit 0 "$VFORGE" repo add-update --help
expect_out "--max-version V"
unchanged "usage errors"

# --- --max-version below the new version pulls releases back (x86_64 only)
expect_exit 0 "$VFORGE" repo add-update "$R" --key "$TMP/k1.pem" --build "$TMP/good109/build.json" \
	--max-version 1.0.0 --now $((NOW + 90000))
expect_out "max_version 1.0.0 on the 4 updates of tiny x86_64"
manifest "$R" "$TMP/m4.json"
python3 - "$TMP/m4.json" <<'PY' || fail "manifest.json after --max-version"
import json, sys
m = json.load(open(sys.argv[1]))
got = [(u["arch"], u["version"], u["max_version"]) for u in m["updates"]]
assert got == [("x86_64", "1.0.0", "1.0.0"), ("x86_64", "1.1.0", "1.0.0"), ("aarch64", "1.5.0", "1.5.0"),
               ("x86_64", "1.10.0", "1.0.0"), ("x86_64", "1.0.9", "1.0.0")], got
PY

# --- a manifest.json the strict parser refuses (put there as a plain target) stops
# add-update with its JSON path, in a copy of the repository
cp -R "$R" "$TMP/repo2"
python3 - "$TMP/m4.json" "$TMP/evil.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["updates"][1]["waves"]["20"] = "2025-01-01T00:00:00Z"  # before seed 0's time
json.dump(m, open(sys.argv[2], "w"))
PY
expect_exit 0 "$VFORGE" repo add-targets "$TMP/repo2" --key "$TMP/k1.pem" "$TMP/evil.json=manifest.json" --now $((NOW + 90000))
expect_exit 1 "$VFORGE" repo add-update "$TMP/repo2" --key "$TMP/k1.pem" --build "$B1" --now $((NOW + 90000))
expect_err "target manifest.json: updates[1]: waves: seed 20: time 2025-01-01T00:00:00Z is not after seed 0's"

# --- a manifest.json listed in targets.json but missing on disk is an error, never a
# reason to start a new manifest
cp -R "$R" "$TMP/repo4"
manifest "$TMP/repo4" "$TMP/m-cur.json"
rm "$TMP/repo4/targets/$(sha256sum "$TMP/m-cur.json" | cut -d' ' -f1).manifest.json"
expect_exit 1 "$VFORGE" repo add-update "$TMP/repo4" --key "$TMP/k1.pem" --build "$B1" --now $((NOW + 90000))
expect_err "target manifest.json"
expect_err "No such file or directory"

# --- the same inputs give the same manifest.json, byte for byte, in a fresh repository
expect_exit 0 "$VFORGE" repo create "$TMP/repo3" --root "$TMP/root.json" --key "$TMP/k1.pem" --now $NOW
expect_exit 0 "$VFORGE" repo add-update "$TMP/repo3" --key "$TMP/k1.pem" --build "$B1" --now $NOW
manifest "$TMP/repo3" "$TMP/m1-again.json"
cmp "$TMP/m1.json" "$TMP/m1-again.json" || fail "manifest.json differs between two identical runs"

# --- the repository verifies as a client sees it
expect_exit 0 "$VFORGE" repo validate "$R" --root "$TMP/root.json" --now $((NOW + 90000))

# --- manifests/update-manifest.schema.json accepts every published manifest.json and
# refuses what vforge refuses (the JSON Schema-expressible part)
if python3 -c 'import jsonschema' 2>/dev/null; then
	ls "$R"/targets/*.manifest.json "$TMP"/repo3/targets/*.manifest.json >"$TMP/manifests"
	[ "$(wc -l <"$TMP/manifests")" -ge 6 ] || fail "expected at least 6 published manifest.json files"
	python3 - manifests/update-manifest.schema.json "$TMP/manifests" <<'PY' || fail "schema"
import copy, json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
files = open(sys.argv[2]).read().split()
for f in files:
    errs = [f"{list(e.absolute_path)}: {e.message}" for e in v.iter_errors(json.load(open(f)))]
    assert not errs, (f, errs)
good = json.load(open(files[0]))
assert good["updates"], files[0]
u0 = good["updates"][0]
bad = {
    "extra top-level member": lambda m: m.update(signed=1),
    "no migrations": lambda m: m.pop("migrations"),
    "unknown update member": lambda m: m["updates"][0].update(flavor="x"),
    "no images": lambda m: m["updates"][0].pop("images"),
    "version not semver": lambda m: m["updates"][0].update(version="1.0"),
    "max_version leading zero": lambda m: m["updates"][0].update(max_version="01.0.0"),
    "seed above 2048": lambda m: m["updates"][0]["waves"].update({"2049": "2026-01-01T00:00:00Z"}),
    "seed with a leading zero": lambda m: m["updates"][0]["waves"].update({"020": "2026-01-01T00:00:00Z"}),
    "time without a zone": lambda m: m["updates"][0]["waves"].update({"0": "2026-01-01T00:00:00"}),
    "absolute image name": lambda m: m["updates"][0]["images"].update(boot="/boot.img"),
    "dot-dot image name": lambda m: m["updates"][0]["images"].update(root="a/../b"),
    "empty variant": lambda m: m["updates"][0].update(variant=""),
    "bad migration key": lambda m: m["migrations"].update({"1.0.0 -> 1.1.0": []}),
    "migration not a list": lambda m: m["migrations"].update({"(1.0.0, 1.1.0)": "m"}),
}
for what, change in bad.items():
    m = copy.deepcopy(good); change(m)
    assert not v.is_valid(m), f"schema accepts: {what}"
ok = copy.deepcopy(good)
ok["migrations"] = {"(1.0.0, 1.1.0)": ["migrate_v1.1.0_x.lz4"], "(1.1.0,1.2.0-rc.1)": []}
ok["updates"][0]["waves"]["2048"] = "9999-12-31T23:59:59.123456789+00:00"
assert v.is_valid(ok), list(v.iter_errors(ok))
print(f"schema: {len(files)} published manifests valid, {len(bad)} bad ones refused")
PY
else
	echo "python3 jsonschema is not installed: schema checks skipped"
fi
echo "ok"
