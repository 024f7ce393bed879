#!/bin/sh
# Interoperability: tuf-js 5.0.1 (an independent TUF client, tests/interop)
# refreshes from vforge repositories served by nginx on 127.0.0.1 and
# downloads every target: after creation, add-targets, a timestamp refresh
# and a rotation of the timestamp key (old trusted state and a fresh client).
# It refuses a timestamp one signature short, an expired timestamp and
# tampered target files; `vforge repo validate` agrees on each repository.
. tests/integration/lib.sh
need_tufjs
need_nginx
unset SOURCE_DATE_EPOCH # vforge signs with the real clock, which tuf-js checks expiry against

K=$TMP/keys
SRC=$TMP/src
WWW=$TMP/www
mkdir -p "$K" "$SRC" "$WWW" "$TMP/c"
start_nginx "$WWW"
BASE=http://127.0.0.1:$NGINX_PORT
. tests/integration/lib-tufjs.sh


# --- keys: root 2 of 3 (ed25519, ecdsa, rsa), targets 2 of 2, snapshot, timestamp ---
for k in root1:ed25519 root2:ecdsa-p256 root3:rsa-3072 targets1:ed25519 targets2:ecdsa-p256 \
	snapshot:ecdsa-p256 timestamp:ed25519 timestamp-new:ed25519 timestamp-b:ed25519; do
	expect_exit 0 "$VFORGE" key generate --type "${k#*:}" -o "$K/${k%%:*}.pem"
	cp "$TMP/out" "$K/${k%%:*}.id"
done
ID_timestamp=$(cat "$K/timestamp.id")
ID_timestamp_new=$(cat "$K/timestamp-new.id")
ID_targets2=$(cat "$K/targets2.id")

ROOT=$TMP/root.json
expect_exit 0 "$VFORGE" root init "$ROOT" --expires 1y
for r in root1 root2 root3; do expect_exit 0 "$VFORGE" root add-key "$ROOT" "$K/$r.pem.pub" --role root; done
expect_exit 0 "$VFORGE" root add-key "$ROOT" "$K/targets1.pem.pub" --role targets
expect_exit 0 "$VFORGE" root add-key "$ROOT" "$K/targets2.pem.pub" --role targets
expect_exit 0 "$VFORGE" root add-key "$ROOT" "$K/snapshot.pem.pub" --role snapshot
expect_exit 0 "$VFORGE" root add-key "$ROOT" "$K/timestamp.pem.pub" --role timestamp
expect_exit 0 "$VFORGE" root set-threshold "$ROOT" root 2
expect_exit 0 "$VFORGE" root set-threshold "$ROOT" targets 2
expect_exit 0 "$VFORGE" root sign "$ROOT" --key "$K/root1.pem" --key "$K/root3.pem"
[ "$(jv "$ROOT" 'd.signatures.length')" = 2 ] || fail "root.json should carry 2 signatures"

# --- 1. create with targets: nested path, empty, ~1 MB, a non-ASCII name with a space
mkdir -p "$SRC/dir/sub"
printf 'hello from vforge\n' >"$SRC/a.txt"
: >"$SRC/empty"
gen 1 4097 "$SRC/dir/sub/file.bin"
gen 2 1048613 "$SRC/big.bin"
printf 'caf\303\251 au lait\n' >"$SRC/caf$(printf '\303\251') menu.txt"
NONASCII="caf$(printf '\303\251') menu.txt"
KEYS_TARGETS="--key $K/targets1.pem --key $K/targets2.pem"
KEYS_REST="--key $K/snapshot.pem --key $K/timestamp.pem"
G=$WWW/good
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo create "$G" --root "$ROOT" $KEYS_TARGETS $KEYS_REST \
	--target "$SRC/a.txt=a.txt" --target "$SRC/empty=empty" --target "$SRC/dir/sub/file.bin=dir/sub/file.bin" \
	--target "$SRC/big.bin=big.bin" --target "$SRC/$NONASCII=$NONASCII"
[ -f "$G/metadata/1.root.json" ] || fail "repo create wrote no metadata/1.root.json"
expect_exit 0 "$VFORGE" repo validate "$G" --root "$ROOT"

new_client main "$ROOT"
expect_exit 0 tufjs main good --all-targets
expect_targets "$TMP/out" a.txt empty dir/sub/file.bin big.bin "$NONASCII"
same_targets main a.txt empty dir/sub/file.bin big.bin "$NONASCII"
# consistent snapshots: tuf-js fetched versioned metadata and hash-prefixed targets
grep -q "GET /good/metadata/1.snapshot.json " "$NGINX_DIR/access.log" || fail "tuf-js did not fetch 1.snapshot.json"
grep -q "GET /good/metadata/1.targets.json " "$NGINX_DIR/access.log" || fail "tuf-js did not fetch 1.targets.json"
big_sha=$(sha256sum "$SRC/big.bin" | cut -d' ' -f1)
grep -q "GET /good/targets/$big_sha.big.bin " "$NGINX_DIR/access.log" || fail "tuf-js did not fetch $big_sha.big.bin"
[ "$(jv "$TMP/c/main/targets.json" 'd.signatures.length')" = 2 ] || fail "targets.json should carry 2 signatures"

# --- 2. add-targets: one added, one removed; the same client updates ----------------
printf 'added later\n' >"$SRC/new.txt"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$G" $KEYS_TARGETS $KEYS_REST "$SRC/new.txt=new.txt" --remove a.txt
expect_exit 0 "$VFORGE" repo validate "$G" --root "$ROOT"
expect_exit 0 tufjs main good --all-targets
expect_targets "$TMP/out" empty dir/sub/file.bin big.bin "$NONASCII" new.txt
same_targets main new.txt
[ "$(jv "$TMP/c/main/targets.json" 'd.signed.version')" = 2 ] || fail "tuf-js trusts targets version $(jv "$TMP/c/main/targets.json" 'd.signed.version'), expected 2"
expect_exit 1 tufjs main good --target a.txt
expect_err "tuf-js: TargetNotFoundError: no target 'a.txt'"

# --- 3. refresh of the timestamp only -----------------------------------------------
ts_before=$(jv "$TMP/c/main/timestamp.json" 'd.signed.version')
snap_before=$(jv "$TMP/c/main/snapshot.json" 'd.signed.version')
expect_exit 0 "$VFORGE" repo refresh "$G" --key "$K/timestamp.pem" --role timestamp
expect_exit 0 tufjs main good --target big.bin
expect_targets "$TMP/out" big.bin
[ "$(jv "$TMP/c/main/timestamp.json" 'd.signed.version')" = $((ts_before + 1)) ] || fail "timestamp version not $((ts_before + 1)) after refresh"
[ "$(jv "$TMP/c/main/snapshot.json" 'd.signed.version')" = "$snap_before" ] || fail "snapshot version changed by a timestamp refresh"

# --- 4. rotation of the timestamp key -----------------------------------------------
n=1
while [ -f "$G/metadata/$((n + 1)).root.json" ]; do n=$((n + 1)); done
[ "$n" = 1 ] || fail "expected 1.root.json as the newest root, found $n.root.json"
NEW=$TMP/root-new.json
cp "$G/metadata/$n.root.json" "$NEW"
expect_exit 0 "$VFORGE" root remove-key "$NEW" "$ID_timestamp" --role timestamp
expect_exit 0 "$VFORGE" root add-key "$NEW" "$K/timestamp-new.pem.pub" --role timestamp
expect_exit 0 "$VFORGE" root bump-version "$NEW"
expect_exit 0 "$VFORGE" root sign "$NEW" --key "$K/root2.pem" --key "$K/root3.pem"
expect_exit 0 "$VFORGE" repo refresh "$G" --root "$NEW" --key "$K/timestamp-new.pem"
[ -f "$G/metadata/$((n + 1)).root.json" ] || fail "refresh --root did not publish $((n + 1)).root.json"
expect_exit 0 "$VFORGE" repo validate "$G" --root "$ROOT"
sigs=$(jv "$G/metadata/$((n + 1)).root.json" 'd.signatures.map(s => s.keyid).sort().join()')
[ "$sigs" = "$(cat "$K/root2.id" "$K/root3.id" | LC_ALL=C sort | paste -sd,)" ] ||
	fail "$((n + 1)).root.json is signed by $sigs, expected root2 and root3 alone"
[ "$(jv "$G/metadata/timestamp.json" 'd.signatures.map(s => s.keyid).join()')" = "$ID_timestamp_new" ] ||
	fail "timestamp.json is not signed by the new timestamp key alone"
# the client with the old trusted state walks to the new root and accepts the new timestamp
expect_exit 0 tufjs main good --all-targets
expect_targets "$TMP/out" empty dir/sub/file.bin big.bin "$NONASCII" new.txt
[ "$(jv "$TMP/c/main/root.json" 'd.signed.version')" = $((n + 1)) ] || fail "tuf-js did not move to root version $((n + 1))"
[ "$(jv "$TMP/c/main/timestamp.json" 'd.signatures[0].keyid')" = "$ID_timestamp_new" ] || fail "tuf-js trusts a timestamp not signed by the new key"
# a fresh client from 1.root.json
new_client fresh "$G/metadata/1.root.json"
expect_exit 0 tufjs fresh good --all-targets
expect_targets "$TMP/out" empty dir/sub/file.bin big.bin "$NONASCII" new.txt
same_targets fresh empty dir/sub/file.bin big.bin "$NONASCII" new.txt
# the old timestamp key no longer signs: vforge refuses it, and changes nothing
cp "$G/metadata/timestamp.json" "$TMP/ts.saved"
set +e; "$VFORGE" repo refresh "$G" --key "$K/timestamp.pem" --role timestamp >"$TMP/out" 2>"$TMP/err"; rc=$?; set -e
[ $rc != 0 ] || fail "repo refresh signed timestamp with the removed key"
expect_err "$(echo "$ID_timestamp_new" | cut -c1-8)" # errors may abbreviate keyids
cmp -s "$TMP/ts.saved" "$G/metadata/timestamp.json" || fail "a refused refresh changed timestamp.json"

# --- 5a. a role one signature short ---------------------------------------------------
# vforge refuses to publish targets with one of its two keys, naming the missing one
set +e
# shellcheck disable=SC2086
"$VFORGE" repo add-targets "$G" --key "$K/targets1.pem" --key "$K/snapshot.pem" --key "$K/timestamp-new.pem" \
	"$SRC/a.txt=again.txt" >"$TMP/out" 2>"$TMP/err"
rc=$?
set -e
[ $rc != 0 ] || fail "repo add-targets published targets with 1 of its 2 keys"
expect_err "$(echo "$ID_targets2" | cut -c1-8)"
cmp -s "$TMP/ts.saved" "$G/metadata/timestamp.json" || fail "a refused add-targets changed timestamp.json"
# a repository whose timestamp needs 2 signatures, then stripped of one (timestamp.json
# is pinned by nothing, so tuf-js checks its signatures first)
ROOT_TS2=$TMP/root-ts2.json
expect_exit 0 "$VFORGE" root init "$ROOT_TS2" --expires 1y
expect_exit 0 "$VFORGE" root add-key "$ROOT_TS2" "$K/root1.pem.pub" --role root
expect_exit 0 "$VFORGE" root add-key "$ROOT_TS2" "$K/targets1.pem.pub" --role targets
expect_exit 0 "$VFORGE" root add-key "$ROOT_TS2" "$K/snapshot.pem.pub" --role snapshot
expect_exit 0 "$VFORGE" root add-key "$ROOT_TS2" "$K/timestamp.pem.pub" --role timestamp
expect_exit 0 "$VFORGE" root add-key "$ROOT_TS2" "$K/timestamp-b.pem.pub" --role timestamp
expect_exit 0 "$VFORGE" root set-threshold "$ROOT_TS2" timestamp 2
expect_exit 0 "$VFORGE" root sign "$ROOT_TS2" --key "$K/root1.pem"
T=$WWW/ts2
expect_exit 0 "$VFORGE" repo create "$T" --root "$ROOT_TS2" --key "$K/targets1.pem" --key "$K/snapshot.pem" \
	--key "$K/timestamp.pem" --key "$K/timestamp-b.pem" --target "$SRC/big.bin=big.bin"
new_client ts2 "$ROOT_TS2"
expect_exit 0 "$VFORGE" repo validate "$T" --root "$ROOT_TS2"
expect_exit 0 tufjs ts2 ts2 --all-targets # control: intact, it verifies
expect_targets "$TMP/out" big.bin
node -e 'const fs = require("fs"), f = process.argv[1], d = JSON.parse(fs.readFileSync(f, "utf8"));
	if (d.signatures.length !== 2) throw new Error("expected 2 signatures in " + f);
	d.signatures.pop(); fs.writeFileSync(f, JSON.stringify(d));' "$T/metadata/timestamp.json"
new_client ts2 "$ROOT_TS2"
expect_exit 1 tufjs ts2 ts2 --all-targets
expect_err "tuf-js: UnsignedMetadataError: timestamp was signed by 1/2 keys"
expect_exit 3 "$VFORGE" repo validate "$T" --root "$ROOT_TS2"
expect_out metadata/timestamp.json

# --- 5b. an expired timestamp (signed two days ago for one hour) ----------------------
E=$WWW/expired
then=$(( $(date +%s) - 2 * 86400 ))
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo create "$E" --root "$ROOT" $KEYS_TARGETS $KEYS_REST --now "$then" \
	--expires timestamp=1h --expires snapshot=1y --expires targets=1y --target "$SRC/a.txt=a.txt"
new_client expired "$ROOT"
expect_exit 1 tufjs expired expired --all-targets
expect_err "tuf-js: ExpiredMetadataError: Final timestamp.json is expired"
expect_exit 3 "$VFORGE" repo validate "$E" --root "$ROOT"
expect_out metadata/timestamp.json
expect_exit 0 "$VFORGE" repo validate "$E" --root "$ROOT" --now "$then" # control: valid back then

# --- 5c. tampered target files in a copy of the good repository ----------------------
B=$WWW/bad
cp -a "$G" "$B"
expect_exit 0 "$VFORGE" repo validate "$B" --root "$ROOT" # control: the copy is good
# file_of NAME: set f to the consistent-snapshot file of target NAME in $B
file_of() {
	case $1 in */*) _d=${1%/*}/ ;; *) _d= ;; esac
	f=$B/targets/$_d$(sha256sum "$SRC/$1" | cut -d' ' -f1).${1##*/}
	[ -f "$f" ] || fail "no target file $f"
}
file_of big.bin
flip_byte "$f" 524288 # same length, one byte changed
new_client bad "$ROOT"
expect_exit 1 tufjs bad bad --target big.bin
expect_err "tuf-js: LengthOrHashMismatchError: Expected hash $big_sha but got "
expect_exit 0 tufjs bad bad --target dir/sub/file.bin # the other targets still verify
expect_exit 3 "$VFORGE" repo validate "$B" --root "$ROOT"
expect_out "targets/$big_sha.big.bin"
file_of dir/sub/file.bin
truncate -s 4096 "$f" # one byte short
expect_exit 1 tufjs bad bad --target dir/sub/file.bin
expect_err "tuf-js: LengthOrHashMismatchError: Expected length 4097 but got 4096"
file_of new.txt
printf 'more\n' >>"$f" # longer than targets.json says
expect_exit 1 tufjs bad bad --target new.txt
expect_err "tuf-js: DownloadLengthMismatchError: Max length reached"
[ ! -e "$TMP/c/bad.out/new.txt" ] || fail "tuf-js left a file for a refused target"
expect_exit 3 "$VFORGE" repo validate "$B" --root "$ROOT"
for n in big.bin dir/sub/file.bin new.txt; do file_of "$n"; expect_out "${f#"$B/"}"; done

# the good repository is still good, for both
expect_exit 0 "$VFORGE" repo validate "$G" --root "$ROOT"
expect_exit 0 tufjs main good --all-targets
grep -q 'HTTP/1\.[01]" 5[0-9][0-9] ' "$NGINX_DIR/access.log" && fail "nginx answered with a server error"
echo "tuf-js verified and downloaded every target; refused each tampered repository"
