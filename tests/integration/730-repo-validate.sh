#!/bin/sh
# vforge repo validate / expirations: the shared TUF vectors (python-tuf,
# tough) in place, copies of them tampered one way or several at once (every
# problem reported, with file and values), exit codes, --json, and a
# repository made by vforge itself when `vforge repo create` is there.
. tests/integration/lib.sh
need python3
VEC=../shared/vectors/tuf
[ -d "$VEC" ] || fail "missing $VEC (the shared vectors live in ../shared beside the checkout)"
PT=$VEC/python-tuf/repository
CS=$VEC/tough/consistent-snapshots
NOW=1767225600        # 2026-01-01T00:00:00Z; the vectors expire in 2029..2999

# count_problems: the number of "problem:" lines in $TMP/out
count_problems() { grep -c '^problem: ' "$TMP/out" || true; }
expect_problems() {
	_n=$(count_problems)
	[ "$_n" = "$1" ] || { cat "$TMP/out"; fail "expected $1 problems, got $_n"; }
	expect_out "$1 problem"
}

# --- valid repositories, in place ----------------------------------------------------
expect_exit 0 "$VFORGE" repo validate "$PT" --root "$PT/metadata/1.root.json" --now $NOW
grep -qx 'repository valid: root v1, timestamp v1, snapshot v1, targets v1, 2 delegated roles, 3 targets (98 bytes) checked' "$TMP/out" ||
	{ cat "$TMP/out"; fail "python-tuf summary"; }
[ "$(count_problems)" = 0 ] || fail "problems on a valid repository"
expect_exit 0 "$VFORGE" repo validate "$CS" --root "$CS/metadata/1.root.json" --now $NOW
expect_out "repository valid: root v1, timestamp v1, snapshot v1, targets v1, 0 delegated roles, 2 targets (28 bytes) checked"
# SOURCE_DATE_EPOCH is the clock without --now
SOURCE_DATE_EPOCH=$NOW expect_exit 0 "$VFORGE" repo validate "$CS" --root "$CS/metadata/1.root.json"

expect_exit 0 "$VFORGE" repo validate "$PT" --root "$PT/metadata/1.root.json" --now $NOW --json
python3 - "$TMP/out" <<'PY' || fail "validate --json (valid)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is True and d["problems"] == [], d
assert [r["role"] for r in d["roles"]] == ["root", "timestamp", "snapshot", "targets", "role1", "role2"], d
assert all(r["version"] == 1 and r["expires"] == "2030-01-01T00:00:00Z" for r in d["roles"]), d
assert d["roles"][0]["file"] == "metadata/1.root.json", d
assert d["targets"] == 3 and d["target_bytes"] == 98, d
PY

# everything expires together at 2030-01-01: six problems, exit 3
expect_exit 3 "$VFORGE" repo validate "$PT" --root "$PT/metadata/1.root.json" --now 1893456000
expect_problems 6
expect_out "problem: metadata/1.root.json: root v1 expired at 2030-01-01T00:00:00Z (now 2030-01-01T00:00:00Z)"
expect_out "problem: metadata/role2.json: role 'role2' v1 expired at 2030-01-01T00:00:00Z"
expect_err "vforge: error: repository '$PT': 6 problems"

# tough's expired repository: the timestamp expired in 1999
R=$VEC/tough/expired-repository
expect_exit 3 "$VFORGE" repo validate "$R" --root "$R/metadata/1.root.json" --now $NOW
expect_problems 1
expect_out "problem: metadata/timestamp.json: timestamp v1589485578 expired at 1999-01-01T00:00:00Z (now 2026-01-01T00:00:00Z)"
# tough's "../" target paths are refused
R=$VEC/tough/safe-target-paths
expect_exit 3 "$VFORGE" repo validate "$R" --root "$R/metadata/1.root.json" --now $NOW
expect_out 'problem: metadata/targets.json: targets: not valid metadata: signed.targets["foo/../bar/../baz/../data1.txt"]: target path has a ".." component'

# tough's rotated root: its files are at the top, lay them out under metadata/
mkdir -p "$TMP/rot/metadata"
cp "$VEC"/tough/rotated-root/*.json "$TMP/rot/metadata/"
chmod -R u+w "$TMP/rot"
expect_exit 0 "$VFORGE" repo validate "$TMP/rot" --root "$VEC/tough/rotated-root/1.root.json" --now $NOW
expect_out "repository valid: root v2, timestamp v1, snapshot v1, targets v1"
# a bad N+1: 2.root.json changed after signing, neither v1's key nor its own verify it
python3 - "$TMP/rot/metadata/2.root.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
d["signed"]["expires"] = "2029-07-28T00:00:00Z"
json.dump(d, open(p, "w"), indent=2)
PY
expect_exit 3 "$VFORGE" repo validate "$TMP/rot" --root "$VEC/tough/rotated-root/1.root.json" --now $NOW
expect_problems 2
expect_out "problem: metadata/2.root.json: root signed by 0/1 keys of root v1; missing: "
expect_out "problem: metadata/2.root.json: root signed by 0/1 of its own keys; missing: "
expect_out "(invalid signature)"

# --- tampered copies ---------------------------------------------------------------------
fresh() { rm -rf "$TMP/r"; cp -r "$1" "$TMP/r"; chmod -R u+w "$TMP/r"; }
T1=5aa1d2b3bea034a0f9d0b27a1bc72919b3145a2b092b72ac0415a05e07e2bdd1
T2=732b0c04a45c1296a7adf26814d2622c288e5ae1ce0cd791da84aea5a745081c

# a flipped byte (same length): sha256 differs
fresh "$CS"
flip_byte "$TMP/r/targets/$T1.data1.txt" 3
expect_exit 3 "$VFORGE" repo validate "$TMP/r" --root "$CS/metadata/1.root.json" --now $NOW
expect_problems 1
expect_out "problem: targets/$T1.data1.txt: target 'data1.txt': sha256 "
expect_out ", 1.targets.json says $T1"

# truncated, then deleted
fresh "$CS"
head -c 10 "$CS/targets/$T2.data2.txt" >"$TMP/r/targets/$T2.data2.txt"
expect_exit 3 "$VFORGE" repo validate "$TMP/r" --root "$CS/metadata/1.root.json" --now $NOW
expect_problems 1
expect_out "problem: targets/$T2.data2.txt: target 'data2.txt': length 10, 1.targets.json says 14"
rm "$TMP/r/targets/$T2.data2.txt"
expect_exit 3 "$VFORGE" repo validate "$TMP/r" --root "$CS/metadata/1.root.json" --now $NOW
expect_out "problem: targets/$T2.data2.txt: target 'data2.txt': file missing (listed in 1.targets.json, length 14)"

# snapshot's version edited (same length): its hash, signature and version are all wrong
fresh "$CS"
sed -i '5s/"version": 1,/"version": 2,/' "$TMP/r/metadata/1.snapshot.json"
cmp -s "$CS/metadata/1.snapshot.json" "$TMP/r/metadata/1.snapshot.json" && fail "sed changed nothing"
expect_exit 3 "$VFORGE" repo validate "$TMP/r" --root "$CS/metadata/1.root.json" --now $NOW
expect_problems 3
expect_out "problem: metadata/1.snapshot.json: snapshot: sha256 "
expect_out ", timestamp.json says 9717070e2c5a2d1757e11ca830863897eb2efd8b0b3483c72d5d2010bcc0d12e"
expect_out "problem: metadata/1.snapshot.json: snapshot signed by 0/1 keys of root v1"
expect_out "problem: metadata/1.snapshot.json: snapshot version 2, timestamp.json says 1"

# the timestamp's signature removed
fresh "$CS"
python3 - "$TMP/r/metadata/timestamp.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
d["signatures"] = []
json.dump(d, open(p, "w"), indent=2)
PY
expect_exit 3 "$VFORGE" repo validate "$TMP/r" --root "$CS/metadata/1.root.json" --now $NOW
expect_problems 1
expect_out "problem: metadata/timestamp.json: timestamp signed by 0/1 keys of root v1; missing: "
expect_out "; no signatures"

# several at once, all reported: unsigned timestamp, a flipped target, a missing target
flip_byte "$TMP/r/targets/$T1.data1.txt" 0
rm "$TMP/r/targets/$T2.data2.txt"
expect_exit 3 "$VFORGE" repo validate "$TMP/r" --root "$CS/metadata/1.root.json" --now $NOW --json
python3 - "$TMP/out" "$T1" "$T2" <<'PY' || fail "validate --json (3 problems)"
import json, sys
d = json.load(open(sys.argv[1])); t1, t2 = sys.argv[2], sys.argv[3]
assert d["valid"] is False, d
files = sorted(p["file"] for p in d["problems"])
assert files == ["metadata/timestamp.json", f"targets/{t1}.data1.txt", f"targets/{t2}.data2.txt"], files
msgs = {p["file"]: p["message"] for p in d["problems"]}
assert msgs[f"targets/{t1}.data1.txt"].startswith("target 'data1.txt': sha256 "), msgs
assert "file missing" in msgs[f"targets/{t2}.data2.txt"], msgs
assert "timestamp signed by 0/1 keys" in msgs["metadata/timestamp.json"], msgs
assert [r["role"] for r in d["roles"]] == ["root", "timestamp", "snapshot", "targets"], d
assert "targets" not in d, d
PY
expect_err "3 problems"

# a plain (non-consistent) repository: a flipped byte breaks sha256 and sha512
fresh "$PT"
flip_byte "$TMP/r/targets/file1.txt" 5
expect_exit 3 "$VFORGE" repo validate "$TMP/r" --root "$PT/metadata/1.root.json" --now $NOW
expect_problems 2
expect_out "problem: targets/file1.txt: target 'file1.txt': sha256 "
expect_out ", targets.json says 65b8c67f51c993d898250f40aa57a317d854900b3a04895464313e48785440da"
expect_out "problem: targets/file1.txt: target 'file1.txt': sha512 "
# a delegated role's file missing
rm "$TMP/r/metadata/role2.json"
expect_exit 3 "$VFORGE" repo validate "$TMP/r" --root "$PT/metadata/1.root.json" --now $NOW
expect_problems 3
expect_out "problem: metadata/role2.json: role 'role2': file missing (version 1, listed in snapshot.json)"

# a target path with a newline: one problem stays one line (control characters as \xNN)
fresh "$PT"
python3 - "$TMP/r/metadata/targets.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
d["signed"]["targets"]["evil\nrepository valid: fake"] = {"length": 1, "hashes": {"sha256": "00" * 32}}
json.dump(d, open(p, "w"), indent=1)
PY
expect_exit 3 "$VFORGE" repo validate "$TMP/r" --root "$PT/metadata/1.root.json" --now $NOW
expect_problems 2
expect_out "problem: metadata/targets.json: targets signed by 0/1 keys of root v1"
expect_out "problem: targets/evil\x0arepository valid: fake: target 'evil\x0arepository valid: fake': file missing (listed in targets.json, length 1)"
grep -q '^repository valid' "$TMP/out" && fail "a target name forged an output line"

# --- usage and failures --------------------------------------------------------------------
expect_exit 2 "$VFORGE" repo validate "$PT"
expect_err "missing --root"
expect_exit 2 "$VFORGE" repo validate --root "$PT/metadata/1.root.json"
expect_err "missing <repo>"
expect_exit 2 "$VFORGE" repo validate "$PT" "$PT" --root "$PT/metadata/1.root.json"
expect_err "unexpected argument"
expect_exit 2 "$VFORGE" repo validate "$PT" --root "$PT/metadata/1.root.json" --now soon
expect_err "--now"
expect_exit 2 "$VFORGE" repo validate "$PT" --root "$PT/metadata/1.root.json" --bogus
expect_err "unknown option '--bogus'"
expect_exit 0 "$VFORGE" repo validate --help
expect_out "vforge repo validate <repo> --root <trusted-root.json>"
expect_exit 1 "$VFORGE" repo validate "$TMP/nope" --root "$PT/metadata/1.root.json"
expect_err "repository '$TMP/nope'"
expect_exit 1 "$VFORGE" repo validate "$PT" --root "$PT/metadata/timestamp.json"
expect_err "trusted root: "
expect_err 'expected "root"'

# --- expirations ---------------------------------------------------------------------------
expect_exit 0 "$VFORGE" repo expirations "$PT" --now $NOW
grep -Eq '^root +v1 +2030-01-01T00:00:00Z  expires in 1461d 0h$' "$TMP/out" || { cat "$TMP/out"; fail "root line"; }
grep -Eq '^role2 +v1 +2030-01-01T00:00:00Z  expires in 1461d 0h$' "$TMP/out" || { cat "$TMP/out"; fail "role2 line"; }
[ "$(wc -l <"$TMP/out")" = 6 ] || fail "expected 6 roles"
expect_exit 0 "$VFORGE" repo expirations "$PT" --now $NOW --within 1460d
expect_exit 1 "$VFORGE" repo expirations "$PT" --now $NOW --within 1461d
expect_err "6 roles expire within 1461d (by 2030-01-01T00:00:00Z): root (2030-01-01T00:00:00Z), timestamp"
expect_out "expires in 1461d 0h, within 1461d"
expect_exit 1 "$VFORGE" repo expirations "$PT" --now 1893456000
expect_err "6 roles expired: root (2030-01-01T00:00:00Z)"
grep -Eq '^targets +v1 +2030-01-01T00:00:00Z  EXPIRED$' "$TMP/out" || { cat "$TMP/out"; fail "EXPIRED"; }
R=$VEC/tough/expired-repository
expect_exit 1 "$VFORGE" repo expirations "$R" --now $NOW --json
python3 - "$TMP/out" <<'PY' || fail "expirations --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["now"] == "2026-01-01T00:00:00Z", d
assert d["expiring"] == ["timestamp"], d
r = {x["role"]: x for x in d["roles"]}
assert list(r) == ["root", "timestamp", "snapshot", "targets"], d
assert r["timestamp"]["file"] == "metadata/timestamp.json", r
assert r["timestamp"]["version"] == 1589485578, r
assert r["timestamp"]["expires_in_seconds"] == 915148800 - 1767225600, r
assert r["snapshot"]["file"] == "metadata/1589485578.snapshot.json", r
PY
expect_err "1 role expired: timestamp (1999-01-01T00:00:00Z)"
expect_exit 2 "$VFORGE" repo expirations "$PT" --within 7x
expect_err "--within"
expect_exit 1 "$VFORGE" repo expirations "$TMP/nope"

# --- a repository vforge made ---------------------------------------------------------------
if "$VFORGE" repo create --help >/dev/null 2>&1 && "$VFORGE" root --help >/dev/null 2>&1; then
	mkdir "$TMP/own" && cd "$TMP/own"
	"$VFORGE" key generate --type ed25519 -o k.pem >/dev/null
	"$VFORGE" root init root.json --now $NOW >/dev/null
	"$VFORGE" root add-key root.json k.pem.pub --role root,targets,snapshot,timestamp >/dev/null 2>&1
	"$VFORGE" root sign root.json --key k.pem >/dev/null
	gen 1 5000 os.img
	mkdir -p d && gen 2 300 d/app.bin
	"$VFORGE" repo create repo --root root.json --key k.pem --target os.img \
		--target d/app.bin=apps/app.bin --now $NOW >/dev/null
	cd "$VF_TOP"
	expect_exit 0 "$VFORGE" repo validate "$TMP/own/repo" --root "$TMP/own/root.json" --now $NOW
	expect_out "repository valid: root v1, timestamp v1, snapshot v1, targets v1, 0 delegated roles, 2 targets (5.3 kB) checked"
	f=$(ls "$TMP"/own/repo/targets/apps/*.app.bin)
	flip_byte "$f" 7
	expect_exit 3 "$VFORGE" repo validate "$TMP/own/repo" --root "$TMP/own/root.json" --now $NOW
	expect_problems 1
	expect_out "problem: targets/apps/$(basename "$f"): target 'apps/app.bin': sha256 "
	# its default timestamp lifetime is 7 days
	expect_exit 1 "$VFORGE" repo expirations "$TMP/own/repo" --now $NOW --within 7d
	expect_err "1 role expires within 7d (by 2026-01-08T00:00:00Z): timestamp (2026-01-08T00:00:00Z)"
else
	echo "vforge repo create is not there yet: the vforge-made repository case is skipped"
fi
echo ok
