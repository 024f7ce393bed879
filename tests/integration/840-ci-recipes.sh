# The ready-to-copy CI pipelines (ci/recipes): both parse as YAML and call
# only steps that exist; every step of ci/recipes/vforge-ci runs here as the
# pipelines run it: build, verify, publish with keys from a secret (PEM text
# in an environment variable), refresh, expirations; key files never outlive
# the step.
. tests/integration/lib.sh
need python3
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"

R=ci/recipes
CI=$R/vforge-ci

# the pipelines: valid YAML, and every vforge-ci call names a known step with its operands
python3 - "$R/github-actions.yml" "$R/gitlab-ci.yml" <<'PY'
import re, sys, yaml
steps = {"build": 2, "verify": 2, "publish": 2, "refresh": 1, "expirations": (1, 2)}
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    assert isinstance(doc, dict), path
    text = open(path).read()
    calls = re.findall(r'vforge-ci (\w+)((?: [^\s;&|]+)*)', text)
    assert calls, path + ": no vforge-ci step"
    seen = set()
    for step, args in calls:
        assert step in steps, f"{path}: unknown step {step}"
        n = len(args.split())
        want = steps[step]
        ok = n in want if isinstance(want, tuple) else n == want
        assert ok, f"{path}: vforge-ci {step} with {n} operands"
        seen.add(step)
    assert seen == set(steps), f"{path}: steps missing: {set(steps) - seen}"
    assert "VFORGE_KEYS" in text and "timestamp.json" in text, path
print("recipes ok")
PY

NOW=$(date +%s)
export VFORGE
mkdir -p "$TMP/v" "$TMP/keys" "$TMP/tmp"
cat >"$TMP/v/variant.json" <<JSON
{
  "name": "tiny", "version": "1.0.0", "arch": "x86_64", "source_date_epoch": 1767225600,
  "files": [ { "path": "/etc/os-release", "content": "ID=tiny\nVERSION_ID=1.0.0\n" },
             { "path": "/boot/vmlinuz", "content": "kernel" } ],
  "selinux": { "default": "system_u:object_r:os_t:s0" },
  "layout": { "boot_size": "1MiB", "root_size": "2MiB", "hash_size": "1MiB",
              "reserved_size": "1MiB", "private_size": "1MiB", "data_size": "8MiB" }
}
JSON

# build, then verify against it (and fail against a build of something else)
expect_exit 0 "$CI" build "$TMP/v" "$TMP/bo"
[ -f "$TMP/bo/build.json" ] || fail "no build.json"
expect_exit 0 "$CI" verify "$TMP/v" "$TMP/bo"
expect_out "reproducible: all"
cp -r "$TMP/bo" "$TMP/bo-other"
printf 'x' >>"$TMP/bo-other/tiny-x86_64-1.0.0-boot.ext4.zst"
python3 - "$TMP/bo-other/build.json" "$TMP/bo-other/tiny-x86_64-1.0.0-boot.ext4.zst" <<'PY'
import hashlib, json, os, sys
p, f = sys.argv[1], sys.argv[2]
d = json.load(open(p))
for o in d["outputs"]:
    if o["name"] == os.path.basename(f):
        o["sha256"] = hashlib.sha256(open(f, "rb").read()).hexdigest()
        o["size"] = os.path.getsize(f)
json.dump(d, open(p, "w"))
PY
expect_exit 3 "$CI" verify "$TMP/v" "$TMP/bo-other"
expect_out "DIFFERS    tiny-x86_64-1.0.0-boot.ext4.zst"

# a repository made offline (root keys never in CI)
(cd "$TMP/keys" && simple_root "$NOW")
expect_exit 0 "$VFORGE" repo create "$TMP/repo" --root "$TMP/keys/root.json" \
	--key "$TMP/keys/targets.pem" --key "$TMP/keys/snapshot.pem" --key "$TMP/keys/timestamp.pem"

# publish with the three keys as one secret (concatenated PEM), as CI passes them
secret=$(cat "$TMP/keys/targets.pem" "$TMP/keys/snapshot.pem" "$TMP/keys/timestamp.pem")
TMPDIR=$TMP/tmp VFORGE_KEYS=$secret expect_exit 0 "$CI" publish "$TMP/bo" "$TMP/repo"
[ -z "$(ls -A "$TMP/tmp")" ] || fail "key files left behind: $(ls -A "$TMP/tmp")"
grep -q "BEGIN" "$TMP/out" "$TMP/err" && fail "key material printed"
expect_exit 0 "$VFORGE" repo validate "$TMP/repo" --root "$TMP/keys/root.json"
ls "$TMP/repo/targets/" | grep -q '\.manifest\.json$' || fail "manifest.json not published"
ls "$TMP/repo/targets/" | grep -q 'tiny-x86_64-1.0.0-root.ext4.zst$' || fail "root target not published"

# refresh: timestamp and snapshot versions go up
ts_before=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['signed']['version'])" "$TMP/repo/metadata/timestamp.json")
TMPDIR=$TMP/tmp VFORGE_KEYS=$secret expect_exit 0 "$CI" refresh "$TMP/repo"
ts_after=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['signed']['version'])" "$TMP/repo/metadata/timestamp.json")
[ "$ts_after" -gt "$ts_before" ] || fail "refresh did not publish a new timestamp ($ts_before -> $ts_after)"
[ -z "$(ls -A "$TMP/tmp")" ] || fail "key files left behind after refresh"

# signer references (exec:, pkcs11: or key files) pass through as they are
VFORGE_SIGNERS="$TMP/keys/targets.pem $TMP/keys/snapshot.pem $TMP/keys/timestamp.pem" \
	expect_exit 0 "$CI" refresh "$TMP/repo"

# expirations: nothing within 3 days; the timestamp (7 days) within 30
expect_exit 0 "$CI" expirations "$TMP/repo"
expect_exit 1 "$CI" expirations "$TMP/repo" 30d
expect_out "timestamp"

# refusals
expect_exit 2 "$CI" publish "$TMP/bo" "$TMP/repo"
expect_err "no signing key"
VFORGE_KEYS="not a key" expect_exit 2 "$CI" publish "$TMP/bo" "$TMP/repo"
expect_err "no PEM block"
VFORGE_KEYS=$secret expect_exit 2 "$CI" publish "$TMP/bo" "$TMP/nothing"
expect_err "is not a repository"
expect_exit 2 "$CI" bogus
expect_exit 2 "$CI" build "$TMP/v"
echo ok
