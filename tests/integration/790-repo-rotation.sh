#!/bin/sh
# Root rotation end to end, with tuf-js 5.0.1 (tests/interop, an independent
# client) as the oracle, on repositories served by nginx on 127.0.0.1:
#  1. a chain 1 -> 2 -> 3 of roots, each with other root keys and threshold
#     (v1 2-of-3 ed25519/ECDSA/RSA, v2 replaces the RSA key, v3 3-of-4 and a
#     new snapshot key), each signed by key holders in separate directories
#     (a rotated-out key cross-signs with --previous) and merged, published
#     with `vforge root rotate`; a client holding only 1.root.json walks to 3,
#     a client that saw v2 walks on; `repo validate --root 1.root.json` agrees;
#  2. a v2 carrying a single signature of the 2-of-3 v1 root keys: vforge
#     refuses to publish it (naming the keyids still needed); put in place by
#     hand, tuf-js refuses it and validate reports it;
#  3. a stolen timestamp key used to push a client to timestamp version 1000:
#     the client is stuck until the timestamp key is rotated out (root v2),
#     then accepts the repository's far lower timestamp (TUF 5.3.11);
#  4. an intermediate root that has expired before the client runs: a client
#     from v1 walks through it to a valid v3.
. tests/integration/lib.sh
need_tufjs
need_nginx
unset SOURCE_DATE_EPOCH # vforge signs with the real clock, which tuf-js checks expiry against
NOW=$(date +%s)

SRC=$TMP/src
WWW=$TMP/www
mkdir -p "$SRC" "$WWW" "$TMP/c"
start_nginx "$WWW"
BASE=http://127.0.0.1:$NGINX_PORT
. tests/integration/lib-tufjs.sh

# edit_json FILE JS: run JS on the document d of FILE, drop its signatures, write it back
edit_json() {
	node -e 'const fs = require("fs"), f = process.argv[1], d = JSON.parse(fs.readFileSync(f, "utf8"));
		(new Function("d", process.argv[2]))(d); d.signatures = [];
		fs.writeFileSync(f, JSON.stringify(d, null, 1) + "\n");' "$1" "$2"
}
# listing REPO: name and sha256 of every file in REPO/metadata
listing() { (cd "$1/metadata" && sha256sum -- * | LC_ALL=C sort -k2); }
# short KEYID: the first 8 hex digits (errors may abbreviate keyids)
short() { echo "$1" | cut -c1-8; }
# holder_sign WHO FILE [ARGS...]: WHO copies FILE into their own directory and
# signs it there with the one key they hold ($H/WHO/WHO.pem); ARGS are passed on
# (--previous names a file in WHO's directory)
holder_sign() {
	_w=$1 _f=$2; shift 2
	cp "$_f" "$H/$_w/"
	(cd "$H/$_w" && "$VFORGE" root sign "${_f##*/}" --key "$_w.pem" "$@") >"$TMP/out" 2>"$TMP/err" ||
		{ cat "$TMP/out" "$TMP/err"; fail "$_w could not sign ${_f##*/}"; }
	grep -qF "$(cat "$H/$_w/$_w.id")" "$TMP/out" "$TMP/err" || fail "root sign did not name $_w's keyid"
}
sig_keyids() { jv "$1" 'd.signatures.map(s => s.keyid).sort().join(" ")'; }
ids_of() { for _w in "$@"; do cat "$H/$_w/$_w.id"; done | LC_ALL=C sort | paste -sd' '; }

printf 'hello from vforge\n' >"$SRC/a.txt"
mkdir -p "$SRC/dir"
gen 1 70001 "$SRC/dir/b.bin"
printf 'after v2\n' >"$SRC/c.txt"
printf 'after v3\n' >"$SRC/d.txt"

# ====================================================================================
# 1. the chain 1 -> 2 -> 3
# ====================================================================================
# --- root key holders, one directory ("machine") each, each with only their own key --
H=$TMP/holders
CO=$TMP/coordinator # holds public keys and the root drafts; no private key
ON=$TMP/online      # the publishing machine's online keys
mkdir -p "$CO" "$ON"
for w in alice:ed25519 bob:ecdsa-p256 carol:rsa-3072 dave:ed25519 erin:ecdsa-p256; do
	n=${w%%:*}
	mkdir -p "$H/$n"
	(cd "$H/$n" && "$VFORGE" key generate --type "${w#*:}" -o "$n.pem" >"$n.id") || fail "$n's key"
	cp "$H/$n/$n.pem.pub" "$CO/"
done
for k in targets snapshot snapshot2 timestamp; do
	"$VFORGE" key generate --type ed25519 -o "$ON/$k.pem" >"$ON/$k.id" || fail "key $k"
	cp "$ON/$k.pem.pub" "$CO/"
done
ONLINE="--key $ON/targets.pem --key $ON/snapshot.pem --key $ON/timestamp.pem"
ID_bob=$(cat "$H/bob/bob.id") ID_carol=$(cat "$H/carol/carol.id")
ID_snapshot2=$(cat "$ON/snapshot2.id")

# --- v1: root 2-of-3 (alice ed25519, bob ECDSA, carol RSA); alice and carol sign -------
V1=$CO/1.root.json
expect_exit 0 "$VFORGE" root init "$V1" --expires 1y
for w in alice bob carol; do expect_exit 0 "$VFORGE" root add-key "$V1" "$CO/$w.pem.pub" --role root; done
for k in targets snapshot timestamp; do expect_exit 0 "$VFORGE" root add-key "$V1" "$CO/$k.pem.pub" --role $k; done
expect_exit 0 "$VFORGE" root set-threshold "$V1" root 2
holder_sign alice "$V1"
holder_sign carol "$V1"
expect_exit 0 "$VFORGE" root merge "$H/alice/1.root.json" "$H/carol/1.root.json" -o "$V1"
expect_exit 0 "$VFORGE" root verify "$V1"

G=$WWW/chain
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo create "$G" --root "$V1" $ONLINE --target "$SRC/a.txt=a.txt" \
	--target "$SRC/dir/b.bin=dir/b.bin"
expect_exit 0 "$VFORGE" repo validate "$G" --root "$V1"

# --- v2: carol's RSA key replaced by dave's, threshold 2 ---------------------------------
V2=$CO/2.root.json
cp "$G/metadata/1.root.json" "$V2"
expect_exit 0 "$VFORGE" root bump-version "$V2"
expect_exit 0 "$VFORGE" root remove-key "$V2" "$ID_carol" --role root
expect_exit 0 "$VFORGE" root add-key "$V2" "$CO/dave.pem.pub" --role root
expect_exit 0 "$VFORGE" root expire "$V2" 1y
expect_exit 3 "$VFORGE" root verify "$V2" --trusted "$V1" # nobody signed yet
# alice (in v1 and v2) and dave (new) sign: v2's own threshold holds, v1's does not
cp "$V1" "$H/carol/" # carol checks against the root she knows
holder_sign alice "$V2"
holder_sign dave "$V2"
expect_exit 0 "$VFORGE" root merge "$H/alice/2.root.json" "$H/dave/2.root.json" -o "$CO/2-short.root.json"
expect_exit 0 "$VFORGE" root verify "$CO/2-short.root.json" # its own threshold: 2 of 2
expect_exit 3 "$VFORGE" root verify "$CO/2-short.root.json" --trusted "$V1"

# ---- 2. a v2 with one signature of v1's root keys: refused, by vforge and tuf-js ------
before=$(listing "$G")
set +e
# shellcheck disable=SC2086
"$VFORGE" root rotate "$G" --new-root "$CO/2-short.root.json" $ONLINE >"$TMP/out" 2>"$TMP/err"
rc=$?
set -e
case $rc in 1 | 3) ;; *) cat "$TMP/out" "$TMP/err"; fail "root rotate published a root with 1 of v1's 2 signatures (exit $rc)" ;; esac
# one more of bob or carol is needed; alice's signature counted
expect_err "$(short "$ID_bob")"
expect_err "$(short "$ID_carol")"
[ "$(listing "$G")" = "$before" ] || fail "a refused root rotate changed metadata/"
[ ! -e "$G/metadata/2.root.json" ] || fail "a refused root rotate left metadata/2.root.json"
# the attacker (holding alice's key, and dave's) puts it in place by hand
A=$WWW/attacked
cp -a "$G" "$A"
cp "$CO/2-short.root.json" "$A/metadata/2.root.json"
new_client attacked "$V1"
expect_exit 1 tufjs attacked attacked --all-targets
expect_err "tuf-js: UnsignedMetadataError: root was signed by 1/2 keys"
[ "$(jv "$TMP/c/attacked/root.json" d.signed.version)" = 1 ] || fail "tuf-js moved to the root signed by too few v1 keys"
expect_exit 3 "$VFORGE" repo validate "$A" --root "$V1"
expect_out "metadata/2.root.json"
expect_out "$ID_bob" # the keyids still missing, in full
expect_exit 0 "$VFORGE" repo validate "$G" --root "$V1" # the real repository is untouched

# --- carol, whose key v2 removes, cross-signs with --previous; v2 is published ----------
holder_sign carol "$V2" --previous 1.root.json
expect_exit 0 "$VFORGE" root merge "$CO/2-short.root.json" "$H/carol/2.root.json" -o "$V2" --previous "$V1"
expect_exit 0 "$VFORGE" root verify "$V2" --trusted "$V1"
[ "$(sig_keyids "$V2")" = "$(ids_of alice carol dave)" ] || fail "2.root.json is not signed by alice, carol and dave"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" root rotate "$G" --new-root "$V2" $ONLINE
[ -f "$G/metadata/2.root.json" ] || fail "root rotate did not publish metadata/2.root.json"
[ "$(jv "$G/metadata/2.root.json" 'JSON.stringify(d)')" = "$(jv "$V2" 'JSON.stringify(d)')" ] ||
	fail "metadata/2.root.json is not the root that was signed"
expect_exit 0 "$VFORGE" repo validate "$G" --root "$V1"
expect_out "root v2"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$G" $ONLINE "$SRC/c.txt=c.txt"

# a client that starts now sees v2
new_client v2seen "$V1"
expect_exit 0 tufjs v2seen chain --all-targets
expect_targets "$TMP/out" a.txt dir/b.bin c.txt
[ "$(jv "$TMP/c/v2seen/root.json" d.signed.version)" = 2 ] || fail "tuf-js did not move to root v2"

# --- v3: root 3-of-4 (alice, bob, dave, erin) and a new snapshot key --------------------
V3=$CO/3.root.json
cp "$G/metadata/2.root.json" "$V3"
expect_exit 0 "$VFORGE" root bump-version "$V3"
expect_exit 0 "$VFORGE" root add-key "$V3" "$CO/erin.pem.pub" --role root
expect_exit 0 "$VFORGE" root set-threshold "$V3" root 3
expect_exit 0 "$VFORGE" root remove-key "$V3" "$(cat "$ON/snapshot.id")" --role snapshot
expect_exit 0 "$VFORGE" root add-key "$V3" "$CO/snapshot2.pem.pub" --role snapshot
expect_exit 0 "$VFORGE" root expire "$V3" 1y
# bob and dave (2 of v2's alice, bob, dave) and erin: 3 of v3's 4
holder_sign bob "$V3"
holder_sign dave "$V3"
holder_sign erin "$V3"
# the three copies carry the same signed content: root sign printed one digest
for w in bob dave erin; do
	(cd "$H/$w" && "$VFORGE" metadata status 3.root.json --root "$V2") >"$TMP/out.$w" 2>&1 || true
	sed -n 's/^signed content sha256 //p' "$TMP/out.$w" >"$TMP/sha.$w"
	[ -s "$TMP/sha.$w" ] || { cat "$TMP/out.$w"; fail "metadata status printed no signed content sha256"; }
done
for w in dave erin; do
	cmp -s "$TMP/sha.bob" "$TMP/sha.$w" || fail "bob's and $w's copies of 3.root.json carry different signed content"
done
expect_exit 0 "$VFORGE" metadata merge "$H/bob/3.root.json" "$H/dave/3.root.json" "$H/erin/3.root.json" \
	-o "$V3" --root "$V2"
expect_exit 0 "$VFORGE" root verify "$V3" --trusted "$V2"
# the new snapshot key must sign a new snapshot in the same publish: without it, refused
before=$(listing "$G")
# shellcheck disable=SC2086
expect_exit 1 "$VFORGE" root rotate "$G" --new-root "$V3" $ONLINE
expect_err snapshot
expect_err "$(short "$ID_snapshot2")"
[ "$(listing "$G")" = "$before" ] || fail "a refused root rotate changed metadata/"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" root rotate "$G" --new-root "$V3" $ONLINE --key "$ON/snapshot2.pem"
[ -f "$G/metadata/3.root.json" ] || fail "root rotate did not publish metadata/3.root.json"
snapv=$(jv "$G/metadata/timestamp.json" 'd.signed.meta["snapshot.json"].version')
[ "$(jv "$G/metadata/$snapv.snapshot.json" 'd.signatures.map(s => s.keyid).join()')" = "$ID_snapshot2" ] ||
	fail "the snapshot published with root v3 is not signed by the new snapshot key alone"
expect_exit 0 "$VFORGE" repo validate "$G" --root "$V1"
expect_out "root v3"
expect_exit 0 "$VFORGE" repo validate "$G" --root "$V2"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$G" --key "$ON/targets.pem" --key "$ON/snapshot2.pem" \
	--key "$ON/timestamp.pem" "$SRC/d.txt=d.txt"
expect_exit 0 "$VFORGE" repo validate "$G" --root "$V1"

# a client holding only 1.root.json walks 1 -> 2 -> 3 and downloads every target
logstart=$(wc -l <"$NGINX_DIR/access.log")
new_client fresh "$V1"
expect_exit 0 tufjs fresh chain --all-targets
expect_targets "$TMP/out" a.txt dir/b.bin c.txt d.txt
same_targets fresh a.txt dir/b.bin c.txt d.txt
[ "$(jv "$TMP/c/fresh/root.json" d.signed.version)" = 3 ] || fail "tuf-js did not walk to root v3"
tail -n +"$((logstart + 1))" "$NGINX_DIR/access.log" >"$TMP/log.fresh"
for v in 2 3; do
	grep -q "GET /chain/metadata/$v.root.json " "$TMP/log.fresh" || fail "tuf-js did not fetch $v.root.json"
done
grep -q "GET /chain/metadata/4.root.json .* 404 " "$TMP/log.fresh" || fail "tuf-js did not look for 4.root.json"
[ "$(jv "$TMP/c/fresh/snapshot.json" 'd.signatures.map(s => s.keyid).join()')" = "$ID_snapshot2" ] ||
	fail "tuf-js trusts a snapshot not signed by the new snapshot key"
# the client that saw v2 walks on to v3 and gets the new target
expect_exit 0 tufjs v2seen chain --all-targets
expect_targets "$TMP/out" a.txt dir/b.bin c.txt d.txt
same_targets v2seen d.txt
[ "$(jv "$TMP/c/v2seen/root.json" d.signed.version)" = 3 ] || fail "the client that saw v2 did not move to v3"

# ====================================================================================
# 3. recovery from a compromised timestamp key (TUF 5.3.11)
# ====================================================================================
# The attacker holds the timestamp key (not the snapshot or targets keys) and,
# as a man in the middle or a malicious mirror, serves a victim a timestamp of
# version 1000 that names the current, genuine snapshot. The victim trusts
# timestamp v1000 from then on and refuses the real repository's timestamps
# (rollback protection): frozen. The owners rotate the timestamp key out (root
# v2). tuf-js then re-verifies its trusted timestamp with the new root, finds
# it not signed by the new timestamp key, discards it (fast-forward recovery)
# and accepts the real timestamp, whose version is far below 1000.
mkdir -p "$TMP/ts"
(cd "$TMP/ts" && simple_root "$NOW") || fail "simple_root"
(cd "$TMP/ts" && "$VFORGE" key generate --type ed25519 -o timestamp2.pem >timestamp2.id) || fail "key timestamp2"
TS=$TMP/ts
TSKEYS="--key $TS/targets.pem --key $TS/snapshot.pem"
T=$WWW/tsrepo
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo create "$T" --root "$TS/root.json" $TSKEYS --key "$TS/timestamp.pem" \
	--target "$SRC/a.txt=a.txt"
new_client victim "$TS/root.json"
expect_exit 0 tufjs victim tsrepo --all-targets
expect_targets "$TMP/out" a.txt
# the forged timestamp, served from a copy of the repository (the mirror)
M=$WWW/mirror
cp -a "$T" "$M"
edit_json "$M/metadata/timestamp.json" 'd.signed.version = 1000;'
expect_exit 0 "$VFORGE" metadata sign "$M/metadata/timestamp.json" --key "$TS/timestamp.pem" --root "$TS/root.json"
expect_exit 0 tufjs victim mirror --all-targets
[ "$(jv "$TMP/c/victim/timestamp.json" d.signed.version)" = 1000 ] || fail "the victim did not take the forged timestamp v1000"
# the real repository moves on; the victim is stuck on its timestamp v1000
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$T" $TSKEYS --key "$TS/timestamp.pem" "$SRC/c.txt=c.txt"
realts=$(jv "$T/metadata/timestamp.json" d.signed.version)
[ "$realts" -lt 1000 ] || fail "the repository's timestamp is at version $realts"
expect_exit 1 tufjs victim tsrepo --target c.txt
expect_err "tuf-js: BadVersionError: New timestamp version $realts is less than current version 1000"
# rotation: root v2 with a new timestamp key
TS2=$TMP/ts/2.root.json
cp "$T/metadata/1.root.json" "$TS2"
expect_exit 0 "$VFORGE" root bump-version "$TS2"
expect_exit 0 "$VFORGE" root remove-key "$TS2" "$("$VFORGE" key id "$TS/timestamp.pem.pub")" --role timestamp
expect_exit 0 "$VFORGE" root add-key "$TS2" "$TS/timestamp2.pem.pub" --role timestamp
expect_exit 0 "$VFORGE" root sign "$TS2" --key "$TS/root.pem"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" root rotate "$T" --new-root "$TS2" $TSKEYS --key "$TS/timestamp2.pem"
expect_exit 0 "$VFORGE" repo validate "$T" --root "$TS/root.json"
newts=$(jv "$T/metadata/timestamp.json" d.signed.version)
[ "$(jv "$T/metadata/timestamp.json" 'd.signatures.map(s => s.keyid).join()')" = "$(cat "$TS/timestamp2.id")" ] ||
	fail "root rotate did not re-sign timestamp.json with the new timestamp key"
expect_exit 0 tufjs victim tsrepo --all-targets
expect_targets "$TMP/out" a.txt c.txt
same_targets victim c.txt
[ "$(jv "$TMP/c/victim/root.json" d.signed.version)" = 2 ] || fail "the victim did not move to root v2"
[ "$(jv "$TMP/c/victim/timestamp.json" d.signed.version)" = "$newts" ] ||
	fail "the victim trusts timestamp v$(jv "$TMP/c/victim/timestamp.json" d.signed.version), expected the repository's v$newts"
# the stolen key is worthless now: another forged timestamp (v2000) is refused
cp "$T/metadata/2.root.json" "$M/metadata/2.root.json"
cp "$T/metadata/timestamp.json" "$M/metadata/timestamp.json"
edit_json "$M/metadata/timestamp.json" 'd.signed.version = 2000;'
cp "$M/metadata/timestamp.json" "$TMP/forged.json" # signed for the old root: metadata sign checks the key
expect_exit 0 "$VFORGE" metadata sign "$TMP/forged.json" --key "$TS/timestamp.pem" --root "$TS/root.json"
cp "$TMP/forged.json" "$M/metadata/timestamp.json"
expect_exit 1 "$VFORGE" metadata sign "$TMP/forged.json" --key "$TS/timestamp.pem" --root "$T/metadata/2.root.json"
expect_err "$(short "$(cat "$TS/timestamp2.id")")" # the authorised keyid is named
expect_exit 1 tufjs victim mirror --all-targets
expect_err "tuf-js: UnsignedMetadataError: timestamp was signed by 0/1 keys"
[ "$(jv "$TMP/c/victim/timestamp.json" d.signed.version)" = "$newts" ] || fail "the victim took the forged timestamp"

# ====================================================================================
# 4. an intermediate root that expired before the client ran
# ====================================================================================
# Root v2 was published two days ago, valid for one hour; v3 is published now.
# Only the final root's expiry counts (TUF 5.3.10), so a client from v1 walks
# 1 -> 2 -> 3. Before v3 exists, the expired v2 is the final root: refused.
THEN=$((NOW - 2 * 86400))
X=$TMP/exp
mkdir -p "$X"
(cd "$X" && simple_root "$THEN") || fail "simple_root"
XKEYS="--key $X/targets.pem --key $X/snapshot.pem --key $X/timestamp.pem"
E=$WWW/expired
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo create "$E" --root "$X/root.json" $XKEYS --now "$THEN" --target "$SRC/a.txt=a.txt"
cp "$E/metadata/1.root.json" "$X/2.root.json"
expect_exit 0 "$VFORGE" root bump-version "$X/2.root.json"
expect_exit 0 "$VFORGE" root expire "$X/2.root.json" 1h --now "$THEN"
[ "$(jv "$X/2.root.json" d.signed.expires)" = "$(date -u -d "@$((THEN + 3600))" +%Y-%m-%dT%H:%M:%SZ)" ] ||
	fail "root v2 does not expire one hour after THEN"
expect_exit 0 env SOURCE_DATE_EPOCH="$THEN" "$VFORGE" root sign "$X/2.root.json" --key "$X/root.pem"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" root rotate "$E" --new-root "$X/2.root.json" $XKEYS --now "$THEN"
expect_exit 0 "$VFORGE" repo validate "$E" --root "$X/root.json" --now "$THEN"
expect_exit 3 "$VFORGE" repo validate "$E" --root "$X/root.json" --now "$NOW"
expect_out "metadata/2.root.json"
new_client exp-early "$X/root.json"
expect_exit 1 tufjs exp-early expired --all-targets
expect_err "tuf-js: ExpiredMetadataError: Final root.json is expired"
# v3, valid for a year from now
cp "$E/metadata/2.root.json" "$X/3.root.json"
expect_exit 0 "$VFORGE" root bump-version "$X/3.root.json"
expect_exit 0 "$VFORGE" root expire "$X/3.root.json" 1y
expect_exit 0 "$VFORGE" root sign "$X/3.root.json" --key "$X/root.pem"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" root rotate "$E" --new-root "$X/3.root.json" $XKEYS
expect_exit 0 "$VFORGE" repo validate "$E" --root "$X/root.json"
expect_out "root v3"
expect_exit 0 "$VFORGE" repo validate "$E" --root "$X/root.json" --now "$((NOW + 60))"
new_client exp-late "$X/root.json"
expect_exit 0 tufjs exp-late expired --all-targets
expect_targets "$TMP/out" a.txt
same_targets exp-late a.txt
[ "$(jv "$TMP/c/exp-late/root.json" d.signed.version)" = 3 ] || fail "tuf-js did not walk through the expired v2 to v3"
# the client that was refused (it kept v2 as its trusted root) continues too
expect_exit 0 tufjs exp-early expired --all-targets
expect_targets "$TMP/out" a.txt
[ "$(jv "$TMP/c/exp-early/root.json" d.signed.version)" = 3 ] || fail "the refused client did not move to v3"

grep -q 'HTTP/1\.[01]" 5[0-9][0-9] ' "$NGINX_DIR/access.log" && fail "nginx answered with a server error"
echo "root chains 1 -> 2 -> 3 accepted by tuf-js and validate; short-signed root, forged timestamp and expired final root refused"
