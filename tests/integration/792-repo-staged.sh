#!/bin/sh
# Staged publishing with offline signatures, with tuf-js 5.0.1 (tests/interop)
# as the oracle on a repository served by nginx on 127.0.0.1. The targets role
# is 2-of-3, its keys held by alice (ed25519), bob (ECDSA P-256) and carol
# (RSA-3072) in separate directories, each with only their own key:
#  - `repo stage` writes the next targets version unsigned under staged/ and
#    publishes nothing;
#  - each holder signs a copy with `metadata sign --root`; `publish-staged`
#    with one signature refuses (naming the role and the keyids still needed)
#    and leaves the repository and the stage as they were; with two merged
#    signatures it publishes, removes staged/, and tuf-js downloads the new
#    targets;
#  - a stage made stale by another publish (add-targets) is refused;
#  - an online key given to publish-staged adds the missing signature;
#  - a delegated role (2-of-2) staged with --role and signed offline with
#    `metadata sign --delegator`: refused with one signature, published with two.
. tests/integration/lib.sh
need_tufjs
need_nginx
unset SOURCE_DATE_EPOCH # vforge signs with the real clock, which tuf-js checks expiry against

SRC=$TMP/src
WWW=$TMP/www
mkdir -p "$SRC" "$WWW" "$TMP/c"
start_nginx "$WWW"
BASE=http://127.0.0.1:$NGINX_PORT
. tests/integration/lib-tufjs.sh

# listing REPO: name and sha256 of every file in REPO/metadata
listing() { (cd "$1/metadata" && sha256sum -- * | LC_ALL=C sort -k2); }
short() { echo "$1" | cut -c1-8; }
snap_of() { jv "$1/metadata/timestamp.json" 'd.signed.meta["snapshot.json"].version'; }
targets_v() { jv "$1/metadata/$(snap_of "$1").snapshot.json" 'd.signed.meta["targets.json"].version'; }
sig_keyids() { jv "$1" 'd.signatures.filter(s => s.sig !== "").map(s => s.keyid).sort().join(" ")'; }
ids_of() { for _w in "$@"; do cat "$H/$_w/$_w.id"; done | LC_ALL=C sort | paste -sd' '; }
# holder_sign WHO FILE: WHO copies FILE into their directory as targets.json and
# signs it there with their one key, checked against their copy of root.json;
# the digest they saw goes to $H/WHO/sha
holder_sign() {
	cp "$2" "$H/$1/targets.json"
	(cd "$H/$1" && "$VFORGE" metadata sign targets.json --key "$1.pem" --root root.json) >"$TMP/out" 2>"$TMP/err" ||
		{ cat "$TMP/out" "$TMP/err"; fail "$1 could not sign $2"; }
	sed -n "s/^'targets.json': signed content sha256 //p" "$TMP/out" "$TMP/err" | head -1 >"$H/$1/sha"
	[ -s "$H/$1/sha" ] || { cat "$TMP/out" "$TMP/err"; fail "metadata sign printed no signed content sha256"; }
}

# --- keys: alice, bob, carol hold the targets keys; ops holds root and online keys ---
H=$TMP/holders
OPS=$TMP/ops
mkdir -p "$OPS"
for w in alice:ed25519 bob:ecdsa-p256 carol:rsa-3072; do
	n=${w%%:*}
	mkdir -p "$H/$n"
	(cd "$H/$n" && "$VFORGE" key generate --type "${w#*:}" -o "$n.pem" >"$n.id") || fail "$n's key"
	cp "$H/$n/$n.pem.pub" "$OPS/"
done
for k in root snapshot timestamp; do
	"$VFORGE" key generate --type ed25519 -o "$OPS/$k.pem" >"$OPS/$k.id" || fail "key $k"
done
ID_bob=$(cat "$H/bob/bob.id") ID_carol=$(cat "$H/carol/carol.id")
ROOT=$OPS/root.json
expect_exit 0 "$VFORGE" root init "$ROOT" --expires 1y
expect_exit 0 "$VFORGE" root add-key "$ROOT" "$OPS/root.pem.pub" --role root
for w in alice bob carol; do expect_exit 0 "$VFORGE" root add-key "$ROOT" "$OPS/$w.pem.pub" --role targets; done
expect_exit 0 "$VFORGE" root add-key "$ROOT" "$OPS/snapshot.pem.pub" --role snapshot
expect_exit 0 "$VFORGE" root add-key "$ROOT" "$OPS/timestamp.pem.pub" --role timestamp
expect_exit 0 "$VFORGE" root set-threshold "$ROOT" targets 2
expect_exit 0 "$VFORGE" root sign "$ROOT" --key "$OPS/root.pem"
for w in alice bob carol; do cp "$ROOT" "$H/$w/root.json"; done
ONLINE="--key $OPS/snapshot.pem --key $OPS/timestamp.pem"

printf 'first\n' >"$SRC/first.txt"
printf 'staged one\n' >"$SRC/new1.txt"
mkdir -p "$SRC/dir" "$SRC/bundle/sub"
gen 21 50000 "$SRC/dir/new2.bin"
printf 'staged, then overtaken\n' >"$SRC/new3.txt"
printf 'published directly\n' >"$SRC/hotfix.txt"
printf 'bundle one\n' >"$SRC/bundle/b1.txt"
gen 22 3000 "$SRC/bundle/sub/b2.txt"
mkdir -p "$SRC/sub" && cp "$SRC/bundle/b1.txt" "$SRC/b1.txt" && cp "$SRC/bundle/sub/b2.txt" "$SRC/sub/b2.txt"

# version 1 is made at a key ceremony, alice and bob in one room
R=$WWW/repo
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo create "$R" --root "$ROOT" --key "$H/alice/alice.pem" --key "$H/bob/bob.pem" $ONLINE \
	--target "$SRC/first.txt=first.txt"
new_client main "$ROOT"
expect_exit 0 tufjs main repo --all-targets
expect_targets "$TMP/out" first.txt

# ====================================================================================
# 1. stage, sign offline, refuse short, merge, publish
# ====================================================================================
tv=$(targets_v "$R")
before=$(listing "$R")
expect_exit 0 "$VFORGE" repo stage "$R" "$SRC/new1.txt=new1.txt" "$SRC/dir/new2.bin=dir/new2.bin"
ST=$R/staged/metadata/$((tv + 1)).targets.json
expect_out "staged/metadata/$((tv + 1)).targets.json"
[ -f "$ST" ] || fail "repo stage did not write $ST"
[ "$(listing "$R")" = "$before" ] || fail "repo stage changed metadata/"
[ "$(jv "$ST" d.signed.version)" = $((tv + 1)) ] || fail "$ST is not version $((tv + 1))"
[ "$(sig_keyids "$ST")" = "" ] || fail "$ST is signed already: $(sig_keyids "$ST")"
[ "$(jv "$ST" 'Object.keys(d.signed.targets).sort().join(" ")')" = "dir/new2.bin first.txt new1.txt" ] ||
	fail "$ST does not list first.txt, new1.txt and dir/new2.bin"
[ -n "$(find "$R/staged" -type f ! -path "$R/staged/metadata/*" -exec cmp -s {} "$SRC/new1.txt" \; -print)" ] ||
	fail "repo stage did not stage a copy of new1.txt under $R/staged"
[ -z "$(find "$R/targets" -name '*new1.txt')" ] || fail "repo stage published the file of new1.txt in targets/"
expect_exit 0 "$VFORGE" repo validate "$R" --root "$ROOT"
expect_exit 3 "$VFORGE" metadata status "$ST" --root "$ROOT"
coord_sha=$(sed -n 's/^signed content sha256 //p' "$TMP/out")
[ -n "$coord_sha" ] || fail "metadata status printed no signed content sha256"

# each holder signs their own copy, and sees the coordinator's digest
for w in alice bob carol; do
	holder_sign $w "$ST"
	[ "$(cat "$H/$w/sha")" = "$coord_sha" ] || fail "$w signed content $(cat "$H/$w/sha"), the coordinator has $coord_sha"
done

# alice's signature alone: refused, nothing changes, the stage stays
cp "$H/alice/targets.json" "$ST"
# shellcheck disable=SC2086
expect_exit 1 "$VFORGE" repo publish-staged "$R" $ONLINE
expect_err targets
expect_err "$(short "$ID_bob")"
expect_err "$(short "$ID_carol")"
[ "$(listing "$R")" = "$before" ] || fail "a refused publish-staged changed metadata/"
[ -z "$(find "$R/targets" -name '*new1.txt')" ] || fail "a refused publish-staged published the file of new1.txt"
cmp -s "$H/alice/targets.json" "$ST" || fail "a refused publish-staged changed the staged targets"
expect_exit 0 "$VFORGE" repo validate "$R" --root "$ROOT"

# alice and carol (RSA) merged: published
expect_exit 0 "$VFORGE" metadata merge "$H/alice/targets.json" "$H/carol/targets.json" -o "$ST" --root "$ROOT"
expect_exit 0 "$VFORGE" metadata status "$ST" --root "$ROOT"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo publish-staged "$R" $ONLINE
[ ! -e "$R/staged" ] || fail "publish-staged left $R/staged"
[ "$(targets_v "$R")" = $((tv + 1)) ] || fail "publish-staged did not publish targets v$((tv + 1))"
P=$R/metadata/$((tv + 1)).targets.json
[ "$(jv "$P" 'JSON.stringify(d.signed)')" = "$(jv "$H/alice/targets.json" 'JSON.stringify(d.signed)')" ] ||
	fail "the published $P is not the content alice signed"
[ "$(sig_keyids "$P")" = "$(ids_of alice carol)" ] || fail "$P is signed by $(sig_keyids "$P"), expected alice and carol"
expect_exit 0 "$VFORGE" repo validate "$R" --root "$ROOT"
expect_exit 0 tufjs main repo --all-targets
expect_targets "$TMP/out" first.txt new1.txt dir/new2.bin
same_targets main new1.txt dir/new2.bin
[ "$(jv "$TMP/c/main/targets.json" d.signed.version)" = $((tv + 1)) ] || fail "tuf-js does not trust targets v$((tv + 1))"

# ====================================================================================
# 2. a stage overtaken by another publish is refused
# ====================================================================================
tv=$(targets_v "$R")
expect_exit 0 "$VFORGE" repo stage "$R" "$SRC/new3.txt=new3.txt"
ST=$R/staged/metadata/$((tv + 1)).targets.json
[ -f "$ST" ] || fail "repo stage did not write $ST"
holder_sign alice "$ST"
holder_sign bob "$ST"
expect_exit 0 "$VFORGE" metadata merge "$H/alice/targets.json" "$H/bob/targets.json" -o "$ST" --root "$ROOT"
# meanwhile someone publishes directly (alice and bob online, say)
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$R" --key "$H/alice/alice.pem" --key "$H/bob/bob.pem" $ONLINE \
	"$SRC/hotfix.txt=hotfix.txt"
[ "$(targets_v "$R")" = $((tv + 1)) ] || fail "add-targets did not publish targets v$((tv + 1))"
before=$(listing "$R")
# shellcheck disable=SC2086
expect_exit 1 "$VFORGE" repo publish-staged "$R" $ONLINE
expect_err "changed"
[ "$(listing "$R")" = "$before" ] || fail "a refused publish-staged changed metadata/"
expect_exit 0 "$VFORGE" repo validate "$R" --root "$ROOT"
expect_exit 0 tufjs main repo --all-targets
expect_targets "$TMP/out" first.txt new1.txt dir/new2.bin hotfix.txt
expect_exit 0 "$VFORGE" repo discard-staged "$R" # the stale stage is discarded
[ ! -e "$R/staged" ] || fail "repo discard-staged left $R/staged"

# ====================================================================================
# 3. --dir and --remove staged; carol signs offline, bob's key is online
# ====================================================================================
tv=$(targets_v "$R")
expect_exit 0 "$VFORGE" repo stage "$R" --dir "$SRC/bundle" --remove first.txt
ST=$R/staged/metadata/$((tv + 1)).targets.json
[ "$(jv "$ST" 'Object.keys(d.signed.targets).sort().join(" ")')" = "b1.txt dir/new2.bin hotfix.txt new1.txt sub/b2.txt" ] ||
	fail "$ST does not hold the bundle without first.txt: $(jv "$ST" 'Object.keys(d.signed.targets).sort().join(" ")')"
holder_sign carol "$ST"
cp "$H/carol/targets.json" "$ST"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo publish-staged "$R" --key "$H/bob/bob.pem" $ONLINE
[ ! -e "$R/staged" ] || fail "publish-staged left $R/staged"
P=$R/metadata/$((tv + 1)).targets.json
[ "$(sig_keyids "$P")" = "$(ids_of bob carol)" ] || fail "$P is signed by $(sig_keyids "$P"), expected bob and carol"
expect_exit 0 "$VFORGE" repo validate "$R" --root "$ROOT"
expect_exit 0 tufjs main repo --all-targets
expect_targets "$TMP/out" new1.txt dir/new2.bin hotfix.txt b1.txt sub/b2.txt
same_targets main b1.txt sub/b2.txt
expect_exit 1 tufjs main repo --target first.txt
expect_err "tuf-js: TargetNotFoundError: no target 'first.txt'"
new_client fresh "$ROOT"
expect_exit 0 tufjs fresh repo --all-targets
expect_targets "$TMP/out" new1.txt dir/new2.bin hotfix.txt b1.txt sub/b2.txt

# ====================================================================================
# 4. a delegated role (2-of-2, dave and erin) staged with --role, signed offline
# ====================================================================================
# the delegation is made at a second ceremony (targets' alice and bob, and dave
# and erin for the role's first, empty version)
for w in dave:ed25519 erin:ecdsa-p256; do
	n=${w%%:*}
	mkdir -p "$H/$n"
	(cd "$H/$n" && "$VFORGE" key generate --type "${w#*:}" -o "$n.pem" >"$n.id") || fail "$n's key"
	cp "$H/$n/$n.pem.pub" "$OPS/"
done
ID_erin=$(cat "$H/erin/erin.id")
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" delegation add "$R" apps --paths 'apps/*' --key "$OPS/dave.pem.pub" --key "$OPS/erin.pem.pub" \
	--threshold 2 --signing-key "$H/alice/alice.pem" --signing-key "$H/bob/bob.pem" --signing-key "$H/dave/dave.pem" \
	--signing-key "$H/erin/erin.pem" --signing-key "$OPS/snapshot.pem" --signing-key "$OPS/timestamp.pem"
DELEGATOR=$R/metadata/$(targets_v "$R").targets.json
for w in dave erin; do cp "$DELEGATOR" "$H/$w/delegator.json"; done
av=$(jv "$R/metadata/$(snap_of "$R").snapshot.json" 'd.signed.meta["apps.json"].version')
mkdir -p "$SRC/apps"
printf 'app one\n' >"$SRC/apps/one.txt"
before=$(listing "$R")
expect_exit 1 "$VFORGE" repo stage "$R" --role apps "$SRC/new1.txt=elsewhere/new1.txt"
expect_err "'elsewhere/new1.txt'"
[ ! -e "$R/staged" ] || fail "a refused repo stage left $R/staged"
expect_exit 0 "$VFORGE" repo stage "$R" --role apps "$SRC/apps/one.txt=apps/one.txt"
ST=$R/staged/metadata/$((av + 1)).apps.json
expect_out "staged/metadata/$((av + 1)).apps.json"
[ -f "$ST" ] || fail "repo stage --role apps did not write $ST"
[ ! -e "$R/staged/metadata/$(($(targets_v "$R") + 1)).targets.json" ] || fail "repo stage --role apps staged targets too"
[ "$(listing "$R")" = "$before" ] || fail "repo stage --role apps changed metadata/"
# dave signs his copy against the delegator he was given
cp "$ST" "$H/dave/apps.json"
(cd "$H/dave" && "$VFORGE" metadata sign apps.json --key dave.pem --delegator delegator.json --role apps) \
	>"$TMP/out" 2>"$TMP/err" || { cat "$TMP/out" "$TMP/err"; fail "dave could not sign apps.json"; }
cp "$H/dave/apps.json" "$ST"
# shellcheck disable=SC2086
expect_exit 1 "$VFORGE" repo publish-staged "$R" $ONLINE
expect_err apps
expect_err "$(short "$ID_erin")"
[ "$(listing "$R")" = "$before" ] || fail "a refused publish-staged changed metadata/"
cp "$ST" "$H/erin/apps.json"
(cd "$H/erin" && "$VFORGE" metadata sign apps.json --key erin.pem --delegator delegator.json --role apps) \
	>"$TMP/out" 2>"$TMP/err" || { cat "$TMP/out" "$TMP/err"; fail "erin could not sign apps.json"; }
expect_exit 0 "$VFORGE" metadata merge "$H/dave/apps.json" "$H/erin/apps.json" -o "$ST" --delegator "$DELEGATOR" --role apps
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo publish-staged "$R" $ONLINE
[ ! -e "$R/staged" ] || fail "publish-staged left $R/staged"
[ -f "$R/metadata/$((av + 1)).apps.json" ] || fail "publish-staged did not publish apps v$((av + 1))"
expect_exit 0 "$VFORGE" repo validate "$R" --root "$ROOT"
expect_exit 0 tufjs main repo --delegated --target apps/one.txt
expect_out "role apps $((av + 1))"
expect_targets "$TMP/out" apps/one.txt
same_targets main apps/one.txt

grep -q 'HTTP/1\.[01]" 5[0-9][0-9] ' "$NGINX_DIR/access.log" && fail "nginx answered with a server error"
echo "staged targets signed offline by 2 of 3 holders: refused short, published when met; tuf-js agrees"
