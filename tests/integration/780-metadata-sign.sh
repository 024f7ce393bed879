#!/bin/sh
# vforge metadata sign|merge|status: key holders on "separate machines" (one
# directory each, holding only their own key and a copy of the unsigned file)
# sign targets (2-of-3, ed25519 + ECDSA + RSA), snapshot, a delegated role,
# a hash bin and a rotated root (cross-signed by a key the new root removes);
# the copies are merged; status before and after; refused keys, content and
# signatures; legacy keyids; determinism; signatures checked with
# securesystemslib when installed.
. tests/integration/lib.sh
need python3
NOW=1700000000            # 2023-11-14T22:13:20Z
export SOURCE_DATE_EPOCH=$NOW

same_json() {
	python3 - "$1" <<'PY' || fail "$1 is not laid out as vforge writes metadata"
import json, sys
t = open(sys.argv[1], encoding="utf-8").read()
assert json.dumps(json.loads(t), indent=1, sort_keys=True, ensure_ascii=False) + "\n" == t
PY
}
jq_py() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
n_sigs() { jq_py "$1" 'len(d["signatures"])'; }
# unsigned SRC DST: SRC without its signatures, in vforge's layout
unsigned() {
	python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["signatures"] = []
open(sys.argv[2], "w").write(json.dumps(d, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
PY
}
# same_signed A B: both files hold the same "signed" value
same_signed() {
	python3 - "$1" "$2" <<'PY' || fail "$1 and $2 do not hold the same signed content"
import json, sys
assert json.load(open(sys.argv[1]))["signed"] == json.load(open(sys.argv[2]))["signed"]
PY
}
# canon_sha FILE: sha256 of the canonical "signed" (nothing in it needs escaping here)
canon_sha() {
	python3 - "$1" <<'PY'
import hashlib, json, sys
s = json.load(open(sys.argv[1]))["signed"]
print(hashlib.sha256(json.dumps(s, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest())
PY
}
no_private() {
	! grep -q 'PRIVATE' "$TMP/out" "$TMP/err" || fail "private key material in the output"
}

cd "$TMP"
# --- key holders, each on their own "machine" ------------------------------------------
mkdir alice bob carol dave ops mallory
(cd alice && "$VFORGE" key generate --type ed25519 -o alice.pem >alice.id) || fail "alice key"
(cd bob && "$VFORGE" key generate --type ecdsa-p256 -o bob.pem >bob.id) || fail "bob key"
(cd carol && "$VFORGE" key generate --type rsa-3072 -o carol.pem >carol.id) || fail "carol key"
(cd dave && "$VFORGE" key generate --type ed25519 -o dave.pem >dave.id) || fail "dave key"
(cd mallory && "$VFORGE" key generate --type ed25519 -o mallory.pem >mallory.id) || fail "mallory key"
for k in online oldroot newroot; do
	"$VFORGE" key generate --type ed25519 -o ops/$k.pem >ops/$k.id || fail "$k key"
done
A=$(cat alice/alice.id) B=$(cat bob/bob.id) C=$(cat carol/carol.id) D=$(cat dave/dave.id)
M=$(cat mallory/mallory.id) O=$(cat ops/online.id) OLD=$(cat ops/oldroot.id) NEW=$(cat ops/newroot.id)

# --- the coordinator's root: targets 2-of-3 (alice, bob, carol), snapshot 2-of-2 -------
R=root.json
"$VFORGE" root init $R >/dev/null 2>&1 || fail "root init"
"$VFORGE" root add-key $R ops/oldroot.pem.pub --role root >/dev/null 2>&1
"$VFORGE" root add-key $R alice/alice.pem.pub --role targets >/dev/null 2>&1
"$VFORGE" root add-key $R bob/bob.pem.pub --role targets >/dev/null 2>&1
"$VFORGE" root add-key $R carol/carol.pem.pub --role targets >/dev/null 2>&1
"$VFORGE" root add-key $R ops/online.pem.pub --role snapshot,timestamp >/dev/null 2>&1
"$VFORGE" root add-key $R dave/dave.pem.pub --role snapshot >/dev/null 2>&1
"$VFORGE" root set-threshold $R targets 2 2>/dev/null || fail "threshold targets"
"$VFORGE" root set-threshold $R snapshot 2 2>/dev/null || fail "threshold snapshot"
"$VFORGE" root sign $R --key ops/oldroot.pem >/dev/null || fail "root sign"
echo 'hello' >hello.txt
"$VFORGE" repo create repo --root $R --key alice/alice.pem --key bob/bob.pem \
	--key ops/online.pem --key dave/dave.pem --target hello.txt >/dev/null || fail "repo create"

# ===== targets: 2-of-3, three signers, three copies ======================================
unsigned repo/metadata/1.targets.json targets.json
same_json targets.json
DIGEST=$(canon_sha targets.json)
# status before anyone signed: exit 3, every keyid missing
expect_exit 3 "$VFORGE" metadata status targets.json --root $R
expect_out "'targets.json': targets metadata, role targets, version 1"
expect_out "signed content sha256 $DIGEST"
expect_out "role targets, authorised by '$R': threshold 2, 3 keys"
expect_out "$A ed25519 not signed"
expect_out "$B ecdsa   not signed"
expect_out "$C rsa     not signed"
expect_out "0 of threshold 2 valid signatures; needs 2 more of: $A, $B, $C"
expect_err "'targets.json': role targets (authorised by '$R'): threshold not met: 0 of 2 valid signatures"
expect_exit 3 "$VFORGE" metadata status targets.json --root $R --json
python3 - "$TMP/out" "$A" "$B" "$C" <<'PY' || fail "status --json before signing"
import json, sys
d = json.load(open(sys.argv[1]))
a, b, c = sys.argv[2:5]
assert d["ok"] is False and d["threshold_met"] is False and len(d["problems"]) == 1, d
assert d["type"] == "targets" and d["role"] == "targets" and d["version"] == 1, d
(au,) = d["authorities"]
assert au["by"] == "root" and au["file"] == "root.json" and au["threshold"] == 2, au
assert au["valid"] == [] and au["missing"] == [a, b, c] and au["signatures"] == [], au
assert [k["keytype"] for k in au["keys"]] == ["ed25519", "ecdsa", "rsa"], au["keys"]
PY
# a file of another role, or of another type, is refused
expect_exit 1 "$VFORGE" metadata status targets.json --root $R --role snapshot
expect_err "'targets.json' is targets metadata, not snapshot metadata"
# a targets file needs --root to be signed: no key is used unchecked
cp targets.json before.json
expect_exit 2 "$VFORGE" metadata sign targets.json --key alice/alice.pem
expect_err "'targets.json' is targets metadata: give --root <root.json>"
# an unauthorised key, or one authorised for another role, is refused: nothing signed
expect_exit 1 "$VFORGE" metadata sign targets.json --key mallory/mallory.pem --root $R
expect_err "'targets.json': --key 'mallory/mallory.pem' (keyid $M) is not authorised for role targets; authorised keyids: $A, $B, $C"
expect_exit 1 "$VFORGE" metadata sign targets.json --key alice/alice.pem --key ops/online.pem --root $R
expect_err "(keyid $O) is not authorised for role targets"
no_private
cmp -s targets.json before.json || fail "a refused sign changed the file"

# each key holder gets a copy and signs it with the only key on their machine
for p in alice bob carol; do cp targets.json root.json $p/; done
(cd alice && "$VFORGE" metadata sign targets.json --key alice.pem --root root.json) >"$TMP/out" 2>"$TMP/err" ||
	{ cat "$TMP/err"; fail "alice signs"; }
expect_out "'targets.json': signed with keyid $A (ed25519)"
expect_out "'targets.json': signed content sha256 $DIGEST"
expect_out "role targets: 1 of threshold 2 valid signature; needs 1 more of: $B, $C"
no_private
(cd bob && "$VFORGE" metadata sign targets.json --key bob.pem --root root.json) >"$TMP/out" 2>&1 ||
	fail "bob signs"
expect_out "signed with keyid $B (ecdsa)"
expect_out "signed content sha256 $DIGEST"
(cd carol && "$VFORGE" metadata sign targets.json --key carol.pem --root root.json) >"$TMP/out" 2>&1 ||
	fail "carol signs"
expect_out "signed with keyid $C (rsa)"
expect_out "signed content sha256 $DIGEST"
for p in alice bob carol; do
	same_json $p/targets.json
	same_signed $p/targets.json targets.json
	[ "$(n_sigs $p/targets.json)" = 1 ] || fail "$p's copy holds $(n_sigs $p/targets.json) signatures"
done
# one signature is not enough
expect_exit 3 "$VFORGE" metadata status alice/targets.json --root $R
expect_out "$A ed25519 valid"
expect_out "needs 1 more of: $B, $C"
# merge the three copies: the threshold is met
expect_exit 0 "$VFORGE" metadata merge alice/targets.json bob/targets.json carol/targets.json \
	-o merged.json --root $R
expect_out "'merged.json': 3 signatures: 1 from 'alice/targets.json', 1 added from 'bob/targets.json', 1 added from 'carol/targets.json'"
expect_out "role targets: 3 of threshold 2 valid signatures: threshold met"
same_json merged.json
same_signed merged.json repo/metadata/1.targets.json
python3 - merged.json "$A" "$B" "$C" <<'PY' || fail "merged signatures not sorted by keyid"
import json, sys
ids = [s["keyid"] for s in json.load(open(sys.argv[1]))["signatures"]]
assert ids == sorted(sys.argv[2:5]), ids
PY
expect_exit 0 "$VFORGE" metadata status merged.json --root $R
expect_out "3 of threshold 2 valid signatures: threshold met"
expect_out "ok"
expect_exit 0 "$VFORGE" metadata status merged.json --root $R --json
python3 - "$TMP/out" "$A" "$B" "$C" <<'PY' || fail "status --json after merging"
import json, sys
d = json.load(open(sys.argv[1]))
a, b, c = sys.argv[2:5]
assert d["ok"] is True and d["threshold_met"] is True and d["problems"] == [], d
assert d["expired"] is False and d["now"] == "2023-11-14T22:13:20Z", d
(au,) = d["authorities"]
assert au["missing"] == [] and au["threshold_met"] is True, au
assert sorted((v["keyid"], v["keytype"]) for v in au["valid"]) == sorted(
    [(a, "ed25519"), (b, "ecdsa"), (c, "rsa")]), au["valid"]
assert all(k["signature"] == "valid" for k in au["keys"]), au["keys"]
PY
"$VFORGE" metadata status merged.json --root $R --json >j2 || fail "status --json again"
cmp -s "$TMP/out" j2 || fail "status --json differs between runs"
# two of three are enough; -o may name an input; sign keeps what is there
cp alice/targets.json two.json
expect_exit 0 "$VFORGE" metadata merge two.json carol/targets.json -o two.json --root $R
expect_out "role targets: 2 of threshold 2 valid signatures: threshold met"
expect_exit 0 "$VFORGE" metadata status two.json --root $R
cp alice/targets.json chain.json
"$VFORGE" metadata sign chain.json --key bob/bob.pem --root $R >/dev/null || fail "sign keeps"
[ "$(n_sigs chain.json)" = 2 ] || fail "sign dropped a signature"
# the expiry counts: the same file at a later clock is expired (exit 3)
expect_exit 3 "$VFORGE" metadata status merged.json --root $R --now 1800000000
expect_err "expired at 2024-02-12T22:13:20Z (now 2027-01-15T08:00:00Z)"
expect_out "EXPIRED"

# --- merge refuses different content, naming the files and what differs ------------------
python3 - targets.json v2.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["signed"]["version"] = 2
open(sys.argv[2], "w").write(json.dumps(d, indent=1, sort_keys=True) + "\n")
PY
expect_exit 1 "$VFORGE" metadata merge alice/targets.json bob/targets.json v2.json -o x.json
expect_err "'alice/targets.json' and 'v2.json' sign different content, so their signatures cannot be merged: version 1 vs 2"
python3 - targets.json extra.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["signed"]["targets"]["evil.bin"] = {"length": 1, "hashes": {"sha256": "ab" * 32}}
open(sys.argv[2], "w").write(json.dumps(d, indent=1, sort_keys=True) + "\n")
PY
expect_exit 1 "$VFORGE" metadata merge alice/targets.json extra.json -o x.json
expect_err 'targets: "evil.bin" only in the second'
expect_exit 1 "$VFORGE" metadata merge alice/targets.json repo/metadata/1.snapshot.json -o x.json
expect_err "_type targets vs snapshot"
[ ! -e x.json ] || fail "a refused merge wrote its output"
# ... and a signature that does not verify (when the keys are known)
python3 - bob/targets.json bad.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["signatures"][0]["sig"]
d["signatures"][0]["sig"] = s[:-2] + ("00" if s[-2:] != "00" else "01")
open(sys.argv[2], "w").write(json.dumps(d, indent=1, sort_keys=True) + "\n")
PY
expect_exit 3 "$VFORGE" metadata merge alice/targets.json bad.json -o x.json --root $R
expect_err "'bad.json': the signature by keyid $B does not verify: refusing to merge it"
[ ! -e x.json ] || fail "a refused merge wrote its output"
expect_exit 3 "$VFORGE" metadata status bad.json --root $R
expect_out "$B ecdsa   invalid signature"
# without --root/--delegator merge cannot check signatures, and says so
expect_exit 0 "$VFORGE" metadata merge alice/targets.json bad.json -o unverified.json
expect_err "signatures not verified: give --root or --delegator"
expect_out "role targets: signatures not verified (give --root or --delegator)"
# ECDSA signs differently each time: the same key on two copies, the first is kept
cp targets.json e1.json; cp targets.json e2.json
"$VFORGE" metadata sign e1.json --key bob/bob.pem --root $R >/dev/null || fail "sign e1"
"$VFORGE" metadata sign e2.json --key bob/bob.pem --root $R >/dev/null || fail "sign e2"
expect_exit 0 "$VFORGE" metadata merge e1.json e2.json -o e2.json --root $R
expect_err "keyid $B signed both files with different valid signatures"
[ "$(jq_py e1.json 'd["signatures"]')" = "$(jq_py e2.json 'd["signatures"]')" ] ||
	fail "merge did not keep the first file's signature"

# ===== snapshot: 2-of-2 (online, dave), determinism with ed25519 =========================
unsigned repo/metadata/1.snapshot.json snapshot.json
cp snapshot.json root.json dave/
(cd dave && "$VFORGE" metadata sign snapshot.json --key dave.pem --root root.json) >"$TMP/out" 2>&1 ||
	fail "dave signs the snapshot"
expect_out "role snapshot: 1 of threshold 2 valid signature; needs 1 more of: $O"
cp snapshot.json ops/
"$VFORGE" metadata sign ops/snapshot.json --key ops/online.pem --root $R >/dev/null || fail "online signs"
expect_exit 3 "$VFORGE" metadata status ops/snapshot.json --root $R
expect_out "needs 1 more of: $D"
expect_exit 0 "$VFORGE" metadata merge dave/snapshot.json ops/snapshot.json -o snap-a.json --root $R
expect_out "role snapshot: 2 of threshold 2 valid signatures: threshold met"
expect_exit 0 "$VFORGE" metadata status snap-a.json --root $R
# the other merge order, and signing both in one step, in another order: the same bytes
expect_exit 0 "$VFORGE" metadata merge ops/snapshot.json dave/snapshot.json -o snap-b.json --root $R
cmp snap-a.json snap-b.json || fail "merge order changed the file"
cp snapshot.json snap-c.json
"$VFORGE" metadata sign snap-c.json --key ops/online.pem --key dave/dave.pem --root $R >/dev/null ||
	fail "sign with two keys"
cmp snap-a.json snap-c.json || fail "signing in one step gave other bytes"
cp snapshot.json snap-d.json
"$VFORGE" metadata sign snap-d.json --key dave/dave.pem --root $R >/dev/null
"$VFORGE" metadata sign snap-d.json --key ops/online.pem --root $R >/dev/null
cmp snap-a.json snap-d.json || fail "signing order changed the file"
same_json snap-a.json
# merge names what differs in a snapshot
python3 - snapshot.json snap7.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["signed"]["meta"]["targets.json"]["version"] = 7
open(sys.argv[2], "w").write(json.dumps(d, indent=1, sort_keys=True) + "\n")
PY
expect_exit 1 "$VFORGE" metadata merge snapshot.json snap7.json -o x.json
expect_err "meta.targets.json: version 1 vs 7"

# --- legacy keyids: the root lists the online key under a keyid of another tool ---------
python3 - $R legacy-root.json "$O" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s, o = d["signed"], sys.argv[3]
s["keys"]["legacy-online"] = s["keys"].pop(o)
for r in s["roles"].values():
    r["keyids"] = ["legacy-online" if k == o else k for k in r["keyids"]]
open(sys.argv[2], "w").write(json.dumps(d, indent=1, sort_keys=True) + "\n")
PY
unsigned repo/metadata/timestamp.json timestamp.json
expect_exit 0 "$VFORGE" metadata sign timestamp.json --key ops/online.pem --root legacy-root.json
expect_out "signed with keyid legacy-online (ed25519)"
expect_out "role timestamp: 1 of threshold 1 valid signature: threshold met"
[ "$(jq_py timestamp.json 'd["signatures"][0]["keyid"]')" = legacy-online ] || fail "legacy keyid not used"
expect_exit 0 "$VFORGE" metadata status timestamp.json --root legacy-root.json
expect_exit 3 "$VFORGE" metadata status timestamp.json --root $R
expect_out "not counted: legacy-online keyid not authorised for the role"

# ===== delegated targets roles: named and succinct hash bins ==============================
for p in alice bob carol; do "$VFORGE" key id $p/$p.pem.pub --json >$p.key.json; done
python3 - targets.json <<'PY'
import json, sys
keys, ids = {}, []
for p in ("alice", "bob", "carol"):
    k = json.load(open(p + ".key.json"))
    keys[k["keyid"]] = k["key"]
    ids.append(k["keyid"])
t = json.load(open(sys.argv[1]))
def put(name, delegations):
    d = {"signed": dict(t["signed"], delegations=delegations), "signatures": []}
    open(name, "w").write(json.dumps(d, indent=1, sort_keys=True) + "\n")
put("delegator.json", {"keys": keys, "roles": [
    {"name": "apps", "keyids": ids, "threshold": 2, "paths": ["apps/*"], "terminating": False}]})
put("bins-delegator.json", {"keys": keys, "succinct_roles": {
    "keyids": ids[:2], "threshold": 1, "bit_length": 2, "name_prefix": "bins"}})
role = {"signed": {"_type": "targets", "spec_version": "1.0.31", "version": 1,
                   "expires": "2030-01-01T00:00:00Z", "targets": {
                       "apps/a.txt": {"length": 2, "hashes": {"sha256": "cd" * 32}}}},
        "signatures": []}
for f in ("apps.json", "bins-1.json"):
    open(f, "w").write(json.dumps(role, indent=1, sort_keys=True) + "\n")
PY
cp apps.json delegator.json alice/
cp apps.json delegator.json carol/
(cd alice && "$VFORGE" metadata sign apps.json --key alice.pem --role apps --delegator delegator.json) \
	>"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "alice signs apps"; }
expect_out "role apps: 1 of threshold 2 valid signature; needs 1 more of: $B, $C"
(cd carol && "$VFORGE" metadata sign apps.json --key carol.pem --role apps --delegator delegator.json) \
	>/dev/null 2>&1 || fail "carol signs apps"
expect_exit 3 "$VFORGE" metadata status alice/apps.json --role apps --delegator delegator.json
expect_out "role apps, authorised by delegator 'delegator.json': threshold 2, 3 keys"
expect_exit 0 "$VFORGE" metadata merge alice/apps.json carol/apps.json -o apps-merged.json \
	--role apps --delegator delegator.json
expect_out "role apps: 2 of threshold 2 valid signatures: threshold met"
expect_exit 0 "$VFORGE" metadata status apps-merged.json --role apps --delegator delegator.json
expect_exit 2 "$VFORGE" metadata sign apps.json --key alice/alice.pem --role apps
expect_err "role apps is a delegated targets role: give --delegator"
expect_exit 2 "$VFORGE" metadata sign apps.json --key alice/alice.pem --role apps --root $R
expect_err "not --root"
expect_exit 1 "$VFORGE" metadata sign apps.json --key alice/alice.pem --role games --delegator delegator.json
expect_err "'delegator.json': role games is not delegated by this targets metadata (it delegates to: apps)"
expect_exit 1 "$VFORGE" metadata sign snapshot.json --key alice/alice.pem --role apps --delegator delegator.json
expect_err "'snapshot.json' is snapshot metadata: a delegated role (--role apps) signs targets metadata"
# hash bins: the bin's keys sign; a key of the delegator not given to the bins does not
expect_exit 0 "$VFORGE" metadata sign bins-1.json --key bob/bob.pem --role bins-1 --delegator bins-delegator.json
expect_out "role bins-1: 1 of threshold 1 valid signature: threshold met"
expect_exit 1 "$VFORGE" metadata sign bins-1.json --key carol/carol.pem --role bins-1 --delegator bins-delegator.json
expect_err "(keyid $C) is not authorised for role bins-1; authorised keyids: $A, $B"
expect_exit 1 "$VFORGE" metadata status bins-1.json --role bins-4 --delegator bins-delegator.json
expect_err "role bins-4 is not delegated by this targets metadata (it delegates to the hash bins bins-0 to bins-3)"
expect_exit 0 "$VFORGE" metadata status bins-1.json --role bins-1 --delegator bins-delegator.json

# ===== root rotation: version 2 drops the old root key, which cross-signs =================
cp $R new-root.json
"$VFORGE" root bump-version new-root.json >/dev/null 2>&1
"$VFORGE" root add-key new-root.json ops/newroot.pem.pub --role root >/dev/null 2>&1
"$VFORGE" root remove-key new-root.json "$OLD" --role root 2>/dev/null || fail "remove the old root key"
cp new-root.json new-unsigned.json
# the old key is not in the new root: refused without --previous, as before
expect_exit 1 "$VFORGE" root sign new-root.json --key ops/oldroot.pem
expect_err "(keyid $OLD) is not authorised for role root; authorised keyids: $NEW"
expect_exit 0 "$VFORGE" root sign new-root.json --key ops/oldroot.pem --previous $R
expect_out "signed with keyid $OLD (ed25519)"
expect_out "role root: 0 of threshold 1 valid signatures; needs 1 more of: $NEW"
expect_out "previous root '$R' (version 1), role root: 1 of threshold 1 valid signature: threshold met"
# a key neither root authorises is still refused, naming both key lists
expect_exit 1 "$VFORGE" root sign new-root.json --key mallory/mallory.pem --previous $R
expect_err "authorised keyids: $NEW; previous root '$R': $OLD"
# metadata sign does the same for a root file given its previous root
cp new-unsigned.json meta-root.json
expect_exit 0 "$VFORGE" metadata sign meta-root.json --key ops/oldroot.pem --root $R
cmp -s new-root.json meta-root.json || fail "root sign --previous and metadata sign --root differ"
expect_exit 1 "$VFORGE" metadata sign meta-root.json --key ops/oldroot.pem
expect_err "(keyid $OLD) is not authorised for role root; authorised keyids: $NEW"
# status: both thresholds; the new root's own is not met yet
expect_exit 3 "$VFORGE" metadata status new-root.json --root $R
expect_out "role root, authorised by the file itself: threshold 1, 1 key"
expect_out "not counted: $OLD keyid not authorised for the role (counted by previous root '$R' (version 1))"
expect_out "role root, authorised by previous root '$R' (version 1): threshold 1, 1 key"
expect_out "version 2 follows previous version 1"
expect_err "role root (authorised by the file itself): threshold not met"
expect_exit 3 "$VFORGE" root verify new-root.json --trusted $R
# the new key signs a copy elsewhere (the file authorises itself); merge checks both
cp new-unsigned.json ops/new-root.json
expect_exit 0 "$VFORGE" metadata sign ops/new-root.json --key ops/newroot.pem
expect_out "role root: 1 of threshold 1 valid signature: threshold met"
expect_exit 0 "$VFORGE" metadata merge new-root.json ops/new-root.json -o rotated.json --root $R
expect_out "'rotated.json': 2 signatures: 1 from 'new-root.json', 1 added from 'ops/new-root.json'"
expect_out "previous root '$R' (version 1), role root: 1 of threshold 1 valid signature: threshold met"
expect_exit 0 "$VFORGE" root merge new-root.json ops/new-root.json -o rotated2.json --previous $R
cmp -s rotated.json rotated2.json || fail "root merge --previous and metadata merge --root differ"
expect_exit 0 "$VFORGE" metadata status rotated.json --root $R --json
python3 - "$TMP/out" "$OLD" "$NEW" <<'PY' || fail "status --json of a rotated root"
import json, sys
d = json.load(open(sys.argv[1]))
old, new = sys.argv[2:4]
assert d["ok"] is True and d["version_follows"] is True and d["threshold_met"] is True, d
me, prev = d["authorities"]
assert me["by"] == "self" and prev["by"] == "previous" and prev["version"] == 1, d
assert [v["keyid"] for v in me["valid"]] == [new] and [v["keyid"] for v in prev["valid"]] == [old], d
assert {s["keyid"]: s["status"] for s in me["signatures"]}[old] == "keyid not authorised for the role"
PY
# root verify: the old key's signature is unauthorised under the new root, counted under the trusted one
expect_exit 0 "$VFORGE" root verify rotated.json --trusted $R
expect_out "$OLD keyid not authorised for the role (valid for the trusted root)"
expect_out "trusted root '$R' (version 1): its role root over this file:"
expect_out "  1 of threshold 1 valid signature: threshold met"
expect_out "ok"
expect_exit 0 "$VFORGE" root verify rotated.json
# without the old key's signature a client on version 1 would refuse it
expect_exit 3 "$VFORGE" metadata status ops/new-root.json --root $R
expect_err "role root (authorised by previous root '$R' (version 1)): threshold not met: 0 of 1 valid signature; needs 1 more of: $OLD"
# --root that is the file itself is not a previous root; a root that is not the previous one
expect_exit 0 "$VFORGE" metadata status ops/new-root.json --root ops/new-root.json
cp rotated.json v3.json
"$VFORGE" root bump-version v3.json >/dev/null 2>&1
"$VFORGE" metadata sign v3.json --key ops/newroot.pem >/dev/null || fail "sign v3"
expect_exit 3 "$VFORGE" metadata status v3.json --root $R
expect_err "version 3 does not follow the previous root's version 1: expected 2"

# ===== usage ===============================================================================
expect_exit 2 "$VFORGE" metadata
expect_exit 2 "$VFORGE" metadata frobnicate x
expect_err "unknown subcommand 'frobnicate'"
expect_exit 2 "$VFORGE" metadata sign targets.json --root $R
expect_err "missing --key"
expect_exit 2 "$VFORGE" metadata sign targets.json --key alice/alice.pem --root $R --delegator delegator.json
expect_err "give --root or --delegator, not both"
expect_exit 2 "$VFORGE" metadata merge targets.json -o x.json
expect_err "merge: expected <a.json> <b.json> [<c.json>...], got 1 argument"
expect_exit 2 "$VFORGE" metadata merge alice/targets.json bob/targets.json
expect_err "missing -o"
expect_exit 2 "$VFORGE" metadata status targets.json
expect_err "give --root"
expect_exit 2 "$VFORGE" metadata status targets.json --root $R --key x
expect_err "option '--key' does not apply here"
expect_exit 2 "$VFORGE" metadata status targets.json --root $R --now soon
expect_exit 1 "$VFORGE" metadata status missing.json --root $R
expect_err "'missing.json'"
expect_exit 1 "$VFORGE" metadata status targets.json --root targets.json
expect_err 'expected "root", got "targets"'
expect_exit 0 "$VFORGE" metadata --help
expect_out "vforge metadata merge <a.json> <b.json> [<c.json>...] -o <out.json>"
expect_exit 0 "$VFORGE" metadata sign --help
expect_exit 0 "$VFORGE" help metadata

# ===== independent check: securesystemslib verifies the merged signatures =================
if /usr/bin/python3 -c 'import securesystemslib.keys' 2>/dev/null; then
	/usr/bin/python3 - merged.json $R "$DIGEST" <<'PY' || fail "securesystemslib does not verify merged.json"
import hashlib, json, sys
import securesystemslib.formats as F
import securesystemslib.keys as K
d, root = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
data = F.encode_canonical(d["signed"]).encode()
assert hashlib.sha256(data).hexdigest() == sys.argv[3], "the printed digest is not the canonical one"
types = []
for s in d["signatures"]:
    k = dict(root["signed"]["keys"][s["keyid"]], keyid=s["keyid"])
    assert K.verify_signature(k, s, data), (k["keytype"], s["keyid"])
    types.append(k["keytype"])
assert sorted(types) == ["ecdsa", "ed25519", "rsa"], types
print("securesystemslib: merged.json", types)
PY
else
	echo "note: python3-securesystemslib not installed; signatures checked by vforge only"
fi
echo "ok"
