#!/bin/sh
# Delegations end to end, with tuf-js 5.0.1 (tests/interop, an independent
# client) as the oracle, on repositories served by nginx on 127.0.0.1:
#  - `vforge delegation add` of a named role (paths 'apps/*' and 'docs/*.txt',
#    2-of-2 ECDSA + ed25519), targets added to it with `repo add-targets --role`
#    and downloaded by tuf-js; names outside the paths refused by vforge;
#  - delegated metadata crafted by an attacker holding the role's keys, listing a
#    target outside the role's paths (with snapshot and timestamp re-signed):
#    tuf-js does not find that target, validate reports it;
#  - a nested delegation (--from), a terminating one that hides a later role's
#    target from tuf-js, `delegation remove` (nested and top level; a client
#    that trusted the removed role's snapshot entry still updates);
#  - 64 succinct hash bins (TAP 15): targets already in targets.json move to
#    their bins, new targets go to theirs (a --dir tree too, published in groups
#    of bins written ahead), tuf-js downloads them all, and adding
#    one target publishes exactly its bin, a snapshot and timestamp.json;
#  - `vforge repo validate` exit 0 on every published state.
. tests/integration/lib.sh
need_tufjs
need_nginx
unset SOURCE_DATE_EPOCH # vforge signs with the real clock, which tuf-js checks expiry against
NOW=$(date +%s)

SRC=$TMP/src
WWW=$TMP/www
K=$TMP/keys
mkdir -p "$SRC" "$WWW" "$TMP/c" "$K"
start_nginx "$WWW"
BASE=http://127.0.0.1:$NGINX_PORT
. tests/integration/lib-tufjs.sh

# (further arguments are process.argv[2], ...)
# listing REPO: name and sha256 of every file in REPO/metadata
listing() { (cd "$1/metadata" && sha256sum -- * | LC_ALL=C sort -k2); }
short() { echo "$1" | cut -c1-8; }
# snap_of REPO: the snapshot version timestamp.json names
snap_of() { jv "$1/metadata/timestamp.json" 'd.signed.meta["snapshot.json"].version'; }
# ver_of REPO ROLE: ROLE's version in the current snapshot ("none" when not listed)
ver_of() {
	jv "$1/metadata/$(snap_of "$1").snapshot.json" \
		"(m => m ? m.version : 'none')(d.signed.meta[process.argv[2] + '.json'])" "$2"
}
# md REPO ROLE: the file of ROLE's current version
md() { echo "$1/metadata/$(ver_of "$1" "$2").$2.json"; }
sig_keyids() { jv "$1" 'd.signatures.map(s => s.keyid).sort().join(" ")'; }
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | paste -sd' '; }
# bin_of NAME BITS PREFIX: the succinct hash bin of target NAME (TAP 15), computed here
bin_of() {
	node -p 'const [n, b, p] = process.argv.slice(1), bits = Number(b);
		const h = require("crypto").createHash("sha256").update(n).digest().readUInt32BE(0) >>> (32 - bits);
		p + "-" + h.toString(16).padStart(((1 << bits) - 1).toString(16).length, "0")' "$1" "$2" "$3"
}
# repin DOC NAME FILE VERSION: point snapshot/timestamp DOC's meta[NAME] at FILE
# (VERSION; length and hashes when DOC lists them), version + 1, signatures dropped
repin() {
	node -e 'const fs = require("fs"), crypto = require("crypto");
		const [doc, name, file, version] = process.argv.slice(1);
		const d = JSON.parse(fs.readFileSync(doc, "utf8")), bytes = fs.readFileSync(file);
		const old = d.signed.meta[name] || {}, m = { version: Number(version) };
		if ("length" in old) m.length = bytes.length;
		if (old.hashes) {
			m.hashes = {};
			for (const alg of Object.keys(old.hashes)) m.hashes[alg] = crypto.createHash(alg).update(bytes).digest("hex");
		}
		d.signed.meta[name] = m; d.signed.version += 1; d.signatures = [];
		fs.writeFileSync(doc, JSON.stringify(d, null, 1) + "\n");' "$1" "$2" "$3" "$4"
}

# --- keys: the top-level roles (one ed25519 key each), delegated roles' keys ----------
(cd "$K" && simple_root "$NOW") || fail "simple_root"
ROOT=$K/root.json
for k in apps1:ed25519 apps2:ecdsa-p256 beta:ed25519 fw:ed25519 fwx:ed25519 bins:ed25519; do
	expect_exit 0 "$VFORGE" key generate --type "${k#*:}" -o "$K/${k%%:*}.pem"
	cp "$TMP/out" "$K/${k%%:*}.id"
done
ID_apps1=$(cat "$K/apps1.id") ID_apps2=$(cat "$K/apps2.id")
SNAPTS="--key $K/snapshot.pem --key $K/timestamp.pem"
SIGN_SNAPTS="--signing-key $K/snapshot.pem --signing-key $K/timestamp.pem"
SIGN_APPS="--signing-key $K/apps1.pem --signing-key $K/apps2.pem"

printf 'top-level target\n' >"$SRC/top.txt"
mkdir -p "$SRC/apps" "$SRC/docs/sub" "$SRC/fw" "$SRC/other" "$SRC/bin" "$SRC/pkg"
gen 11 30001 "$SRC/apps/one.bin"
gen 12 20002 "$SRC/apps/beta-1.bin"
printf 'read me\n' >"$SRC/docs/readme.txt"
printf 'deep\n' >"$SRC/docs/sub/deep.txt"
printf '# notes\n' >"$SRC/docs/notes.md"
printf 'other\n' >"$SRC/other/x.txt"
gen 13 4096 "$SRC/fw/a.bin"
gen 14 4097 "$SRC/fw/b.bin"
printf '#!/bin/sh\necho pwned\n' >"$SRC/bin/evil.sh"

D=$WWW/deleg
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo create "$D" --root "$ROOT" --key "$K/targets.pem" $SNAPTS --target "$SRC/top.txt=top.txt"

# ====================================================================================
# 1. a named delegation: apps/* and docs/*.txt, 2 of 2 keys
# ====================================================================================
tv=$(ver_of "$D" targets)
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" delegation add "$D" apps --paths 'apps/*' --paths 'docs/*.txt' \
	--key "$K/apps1.pem.pub" --key "$K/apps2.pem.pub" --threshold 2 \
	--signing-key "$K/targets.pem" $SIGN_APPS $SIGN_SNAPTS
expect_exit 0 "$VFORGE" repo validate "$D" --root "$ROOT"
[ "$(ver_of "$D" targets)" = $((tv + 1)) ] || fail "delegation add did not publish targets v$((tv + 1))"
T=$(md "$D" targets)
[ "$(jv "$T" 'JSON.stringify(d.signed.delegations.roles.map(r => ({ ...r, keyids: [...r.keyids].sort() })))')" = \
	"$(node -p 'JSON.stringify([{ keyids: process.argv.slice(1).sort(), name: "apps", paths: ["apps/*", "docs/*.txt"], terminating: false, threshold: 2 }])' "$ID_apps1" "$ID_apps2")" ] ||
	fail "$T delegates other than apps (apps/*, docs/*.txt, 2 of apps1 and apps2, not terminating): $(jv "$T" 'JSON.stringify(d.signed.delegations.roles)')"
[ "$(jv "$T" 'Object.keys(d.signed.delegations.keys).sort().join(" ")')" = "$(sorted "$ID_apps1" "$ID_apps2")" ] ||
	fail "$T's delegations.keys are not exactly apps1 and apps2"
[ "$(ver_of "$D" apps)" = 1 ] || fail "snapshot does not list apps.json version 1"
[ "$(jv "$(md "$D" apps)" 'Object.keys(d.signed.targets).length')" = 0 ] || fail "1.apps.json is not empty"
[ "$(sig_keyids "$(md "$D" apps)")" = "$(sorted "$ID_apps1" "$ID_apps2")" ] || fail "1.apps.json is not signed by apps1 and apps2"

# --- targets added to apps; names outside its paths refused -------------------------
before=$(listing "$D")
# shellcheck disable=SC2086
expect_exit 1 "$VFORGE" repo add-targets "$D" --key "$K/apps1.pem" $SNAPTS --role apps "$SRC/apps/one.bin=apps/one.bin"
expect_err "$(short "$ID_apps2")" # threshold 2: apps2's signature is missing
for n in other/x.txt docs/sub/deep.txt docs/notes.md; do
	# shellcheck disable=SC2086
	expect_exit 1 "$VFORGE" repo add-targets "$D" --key "$K/apps1.pem" --key "$K/apps2.pem" $SNAPTS \
		--role apps "$SRC/$n=$n"
	expect_err "'$n'"
	expect_err "'apps'"
done
[ "$(listing "$D")" = "$before" ] || fail "a refused add-targets --role apps changed metadata/"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$D" --key "$K/apps1.pem" --key "$K/apps2.pem" $SNAPTS --role apps \
	"$SRC/apps/one.bin=apps/one.bin" "$SRC/docs/readme.txt=docs/readme.txt"
expect_exit 0 "$VFORGE" repo validate "$D" --root "$ROOT"
[ "$(ver_of "$D" apps)" = 2 ] || fail "add-targets --role apps did not publish apps v2"
[ "$(ver_of "$D" targets)" = $((tv + 1)) ] || fail "add-targets --role apps changed targets.json"
[ "$(jv "$(md "$D" apps)" 'Object.keys(d.signed.targets).sort().join(" ")')" = "apps/one.bin docs/readme.txt" ] ||
	fail "apps v2 does not list exactly apps/one.bin and docs/readme.txt"

new_client main "$ROOT"
expect_exit 0 tufjs main deleg --all-targets --delegated
expect_targets "$TMP/out" top.txt apps/one.bin docs/readme.txt
expect_out "role apps 2"
same_targets main top.txt apps/one.bin docs/readme.txt
grep -q "GET /deleg/metadata/2.apps.json " "$NGINX_DIR/access.log" || fail "tuf-js did not fetch 2.apps.json"

# ====================================================================================
# 2. crafted apps metadata listing a target outside apps' paths
# ====================================================================================
# An attacker who holds both apps keys lists bin/evil.sh in apps; the online
# snapshot and timestamp services sign whatever they are given. Everything is
# correctly signed and pinned; only the path restriction stands in the way.
V=$WWW/deleg-evil
cp -a "$D" "$V"
av=$(ver_of "$V" apps) sv=$(snap_of "$V")
evil_sha=$(sha256sum "$SRC/bin/evil.sh" | cut -d' ' -f1)
mkdir -p "$V/targets/bin"
cp "$SRC/bin/evil.sh" "$V/targets/bin/$evil_sha.evil.sh"
cp "$(md "$V" apps)" "$TMP/apps.json"
node -e 'const fs = require("fs"), f = process.argv[1], d = JSON.parse(fs.readFileSync(f, "utf8"));
	d.signed.version += 1; d.signatures = [];
	d.signed.targets["bin/evil.sh"] = { length: Number(process.argv[2]), hashes: { sha256: process.argv[3] } };
	fs.writeFileSync(f, JSON.stringify(d, null, 1) + "\n");' "$TMP/apps.json" "$(wc -c <"$SRC/bin/evil.sh")" "$evil_sha"
expect_exit 0 "$VFORGE" metadata sign "$TMP/apps.json" --key "$K/apps1.pem" --key "$K/apps2.pem" \
	--delegator "$(md "$V" targets)" --role apps
expect_exit 0 "$VFORGE" metadata status "$TMP/apps.json" --delegator "$(md "$V" targets)" --role apps
cp "$TMP/apps.json" "$V/metadata/$((av + 1)).apps.json"
cp "$V/metadata/$sv.snapshot.json" "$TMP/snapshot.json"
repin "$TMP/snapshot.json" apps.json "$V/metadata/$((av + 1)).apps.json" $((av + 1))
expect_exit 0 "$VFORGE" metadata sign "$TMP/snapshot.json" --key "$K/snapshot.pem" --root "$ROOT"
cp "$TMP/snapshot.json" "$V/metadata/$((sv + 1)).snapshot.json"
repin "$V/metadata/timestamp.json" snapshot.json "$V/metadata/$((sv + 1)).snapshot.json" $((sv + 1))
expect_exit 0 "$VFORGE" metadata sign "$V/metadata/timestamp.json" --key "$K/timestamp.pem" --root "$ROOT"
# tuf-js (a client that trusted the previous state) verifies the crafted apps and
# still downloads apps' real targets, but bin/evil.sh is not apps' to give
expect_exit 0 tufjs main deleg-evil --delegated --target apps/one.bin
expect_out "role apps $((av + 1))"
expect_exit 1 tufjs main deleg-evil --target bin/evil.sh
expect_err "tuf-js: TargetNotFoundError: no target 'bin/evil.sh'"
[ ! -e "$TMP/c/main.out/bin/evil.sh" ] || fail "tuf-js downloaded bin/evil.sh"
expect_exit 3 "$VFORGE" repo validate "$V" --root "$ROOT"
expect_out "target 'bin/evil.sh' is outside the paths"
expect_out "$((av + 1)).apps.json"

# ====================================================================================
# 3. nested (--from) and terminating delegations; delegation remove
# ====================================================================================
tv=$(ver_of "$D" targets) av=$(ver_of "$D" apps)
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" delegation add "$D" apps-beta --from apps --paths 'apps/beta-*' --key "$K/beta.pem.pub" \
	$SIGN_APPS --signing-key "$K/beta.pem" $SIGN_SNAPTS
expect_exit 0 "$VFORGE" repo validate "$D" --root "$ROOT"
[ "$(ver_of "$D" apps)" = $((av + 1)) ] || fail "delegation add --from apps did not publish apps v$((av + 1))"
[ "$(ver_of "$D" targets)" = "$tv" ] || fail "delegation add --from apps changed targets.json"
[ "$(jv "$(md "$D" apps)" 'd.signed.delegations.roles.map(r => r.name + ":" + r.paths.join(",")).join(" ")')" = \
	"apps-beta:apps/beta-*" ] || fail "apps does not delegate apps/beta-* to apps-beta"
[ "$(ver_of "$D" apps-beta)" = 1 ] || fail "snapshot does not list apps-beta.json version 1"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$D" --key "$K/beta.pem" $SNAPTS --role apps-beta \
	"$SRC/apps/beta-1.bin=apps/beta-1.bin"
# fw (terminating) and fw-extra share fw/*; fw comes first
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" delegation add "$D" fw --paths 'fw/*' --terminating --key "$K/fw.pem.pub" \
	--signing-key "$K/targets.pem" --signing-key "$K/fw.pem" $SIGN_SNAPTS
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" delegation add "$D" fw-extra --paths 'fw/*' --key "$K/fwx.pem.pub" \
	--signing-key "$K/targets.pem" --signing-key "$K/fwx.pem" $SIGN_SNAPTS
[ "$(jv "$(md "$D" targets)" 'd.signed.delegations.roles.map(r => r.name + ":" + r.terminating).join(" ")')" = \
	"apps:false fw:true fw-extra:false" ] || fail "targets does not delegate apps, fw (terminating), fw-extra in this order"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$D" --key "$K/fw.pem" $SNAPTS --role fw "$SRC/fw/a.bin=fw/a.bin"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$D" --key "$K/fwx.pem" $SNAPTS --role fw-extra "$SRC/fw/b.bin=fw/b.bin"
expect_exit 0 "$VFORGE" repo validate "$D" --root "$ROOT"
# tuf-js: the nested role's target (targets -> apps -> apps-beta) and fw's
new_client nested "$ROOT"
expect_exit 0 tufjs nested deleg --delegated --target apps/beta-1.bin --target fw/a.bin --target docs/readme.txt
expect_targets "$TMP/out" apps/beta-1.bin fw/a.bin docs/readme.txt
same_targets nested apps/beta-1.bin fw/a.bin
for r in apps apps-beta fw fw-extra; do expect_out "role $r $(ver_of "$D" $r)"; done
# fw/b.bin is listed by fw-extra, but the search stops at the terminating fw
expect_exit 1 tufjs nested deleg --target fw/b.bin
expect_err "tuf-js: TargetNotFoundError: no target 'fw/b.bin'"
cp -a "$TMP/c/nested" "$TMP/c/before-remove" # a client that trusts the snapshot listing fw and apps-beta

# --- remove the nested apps-beta, then fw -------------------------------------------
tv=$(ver_of "$D" targets) av=$(ver_of "$D" apps)
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" delegation remove "$D" apps-beta --from apps $SIGN_APPS $SIGN_SNAPTS
expect_exit 0 "$VFORGE" repo validate "$D" --root "$ROOT"
[ "$(ver_of "$D" apps)" = $((av + 1)) ] || fail "delegation remove --from apps did not publish apps v$((av + 1))"
[ "$(jv "$(md "$D" apps)" '(d.signed.delegations && d.signed.delegations.roles || []).length')" = 0 ] ||
	fail "apps still delegates after delegation remove apps-beta"
[ "$(ver_of "$D" targets)" = "$tv" ] || fail "delegation remove --from apps changed targets.json"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" delegation remove "$D" fw --signing-key "$K/targets.pem" $SIGN_SNAPTS
expect_exit 0 "$VFORGE" repo validate "$D" --root "$ROOT"
[ "$(ver_of "$D" targets)" = $((tv + 1)) ] || fail "delegation remove fw did not publish targets v$((tv + 1))"
[ "$(jv "$(md "$D" targets)" 'd.signed.delegations.roles.map(r => r.name).join(" ")')" = "apps fw-extra" ] ||
	fail "targets does not delegate exactly apps and fw-extra after delegation remove fw"
# the client that trusted the old snapshot (listing fw.json and apps-beta.json)
# updates: a snapshot may not drop a role a client trusts (TUF 5.5.5)
mv "$TMP/c/before-remove" "$TMP/c/after"
expect_exit 0 tufjs after deleg --target fw/b.bin --target docs/readme.txt
expect_targets "$TMP/out" fw/b.bin docs/readme.txt
same_targets after fw/b.bin
for n in fw/a.bin apps/beta-1.bin; do
	expect_exit 1 tufjs after deleg --target "$n"
	expect_err "tuf-js: TargetNotFoundError: no target '$n'"
done
new_client removed "$ROOT"
expect_exit 0 tufjs removed deleg --all-targets --delegated
expect_targets "$TMP/out" top.txt apps/one.bin docs/readme.txt fw/b.bin
grep -q '^role fw \|^role apps-beta ' "$TMP/out" && fail "tuf-js still reached a removed role"
# removing a role that is not delegated is refused
before=$(listing "$D")
# shellcheck disable=SC2086
expect_exit 1 "$VFORGE" delegation remove "$D" fw --signing-key "$K/targets.pem" $SIGN_SNAPTS
expect_err fw
[ "$(listing "$D")" = "$before" ] || fail "a refused delegation remove changed metadata/"

# ====================================================================================
# 4. 64 succinct hash bins
# ====================================================================================
B=$WWW/bins
for i in 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19; do
	printf 'package %s\n' "$i" >"$SRC/pkg/p$i.txt"
done
printf 'one more\n' >"$SRC/pkg/extra.txt"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo create "$B" --root "$ROOT" --key "$K/targets.pem" $SNAPTS \
	--target "$SRC/top.txt=top.txt" --target "$SRC/apps/one.bin=apps/one.bin" --target "$SRC/docs/readme.txt=docs/readme.txt"
for n in 1 3 100 131072 abc; do
	# shellcheck disable=SC2086
	expect_exit 2 "$VFORGE" delegation add "$B" bins --bins "$n" --key "$K/bins.pem.pub" \
		--signing-key "$K/targets.pem" --signing-key "$K/bins.pem" $SIGN_SNAPTS
done
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" delegation add "$B" bins --bins 64 --key "$K/bins.pem.pub" \
	--signing-key "$K/targets.pem" --signing-key "$K/bins.pem" $SIGN_SNAPTS
expect_exit 0 "$VFORGE" repo validate "$B" --root "$ROOT"
T=$(md "$B" targets)
[ "$(jv "$T" 'Object.keys(d.signed.targets).length')" = 0 ] || fail "targets.json still lists targets after --bins"
[ "$(jv "$T" 'JSON.stringify(d.signed.delegations.succinct_roles)')" = \
	"$(node -p 'JSON.stringify({ bit_length: 6, keyids: [process.argv[1]], name_prefix: "bins", threshold: 1 })' "$(cat "$K/bins.id")")" ] ||
	fail "targets.json's succinct_roles are not 64 bins 'bins' of the bins key: $(jv "$T" 'JSON.stringify(d.signed.delegations)')"
[ "$(jv "$T" 'd.signed.delegations.roles === undefined')" = true ] || fail "targets.json has both roles and succinct_roles"
S=$B/metadata/$(snap_of "$B").snapshot.json
[ "$(jv "$S" 'Object.keys(d.signed.meta).filter(n => /^bins-[0-9a-f]{2}\.json$/.test(n)).length')" = 64 ] ||
	fail "the snapshot does not list 64 bins bins-00 .. bins-3f"
# the targets that were in targets.json are in their bins now
for n in top.txt apps/one.bin docs/readme.txt; do
	b=$(bin_of "$n" 6 bins)
	[ "$(jv "$(md "$B" "$b")" 'process.argv[2] in d.signed.targets' "$n")" = true ] || fail "$n is not in its bin $b"
done
# new targets (no --role) go to their bins; only the bins key, snapshot and timestamp sign
PKG=""
for i in 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19; do PKG="$PKG $SRC/pkg/p$i.txt=pkg/p$i.txt"; done
tv=$(ver_of "$B" targets)
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$B" --key "$K/bins.pem" $SNAPTS $PKG
expect_exit 0 "$VFORGE" repo validate "$B" --root "$ROOT"
[ "$(ver_of "$B" targets)" = "$tv" ] || fail "adding targets to bins changed targets.json"
for i in 00 07 19; do
	n=pkg/p$i.txt b=$(bin_of "$n" 6 bins)
	[ "$(jv "$(md "$B" "$b")" 'process.argv[2] in d.signed.targets' "$n")" = true ] || fail "$n is not in its bin $b"
done
# a directory tree (--dir) goes to the bins in groups of bins: each group's files staged, its
# changed bins signed and written ahead, then one publish (the test-only
# VFORGE_TEST_BIN_GROUP_TARGETS=4 forces about 10 groups of 6 or 7 bins)
mkdir -p "$TMP/bulk/bulk/d1" "$TMP/bulk/bulk/d2"
BULK=""
for i in $(seq 0 29); do
	printf 'bulk file %s\n' "$i" >"$TMP/bulk/bulk/d$((i % 2 + 1))/q$i.txt"
	BULK="$BULK bulk/d$((i % 2 + 1))/q$i.txt"
done
cp -R "$TMP/bulk/bulk" "$SRC/bulk"
tv=$(ver_of "$B" targets) sv=$(snap_of "$B")
# shellcheck disable=SC2086
expect_exit 0 env VFORGE_TEST_BIN_GROUP_TARGETS=4 "$VFORGE" repo add-targets "$B" --key "$K/bins.pem" \
	$SNAPTS --dir "$TMP/bulk"
expect_exit 0 "$VFORGE" repo validate "$B" --root "$ROOT"
[ "$(ver_of "$B" targets)" = "$tv" ] || fail "adding a --dir to bins changed targets.json"
[ "$(snap_of "$B")" = $((sv + 1)) ] || fail "adding a --dir to bins: snapshot $(snap_of "$B"), expected one publish ($((sv + 1)))"
for n in bulk/d1/q0.txt bulk/d2/q13.txt bulk/d2/q29.txt; do
	b=$(bin_of "$n" 6 bins)
	[ "$(jv "$(md "$B" "$b")" 'process.argv[2] in d.signed.targets' "$n")" = true ] || fail "$n is not in its bin $b"
done
ls -a "$B/metadata" | grep -q '\.tmp\.' && fail "temporary metadata files left behind by --dir"
[ ! -e "$B/.vforge-staging" ] || fail "staging directory left behind by --dir"
# --role names one bin: a target of another bin is refused
n=pkg/extra.txt b=$(bin_of "$n" 6 bins)
case $b in bins-00) other=bins-01 ;; *) other=bins-00 ;; esac
before=$(listing "$B")
# shellcheck disable=SC2086
expect_exit 1 "$VFORGE" repo add-targets "$B" --key "$K/bins.pem" $SNAPTS --role "$other" "$SRC/$n=$n"
expect_err "$n"
[ "$(listing "$B")" = "$before" ] || fail "a refused add-targets --role $other changed metadata/"
new_client bins "$ROOT"
expect_exit 0 tufjs bins bins --all-targets --delegated
ALL="top.txt apps/one.bin docs/readme.txt"
for i in 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19; do ALL="$ALL pkg/p$i.txt"; done
ALL="$ALL$BULK"
# shellcheck disable=SC2086
expect_targets "$TMP/out" $ALL
# shellcheck disable=SC2086
same_targets bins $ALL
[ "$(grep -c '^role bins-[0-9a-f][0-9a-f] ' "$TMP/out")" = 64 ] || fail "tuf-js did not load 64 bins"

# --- one more target: exactly its bin, a snapshot and timestamp.json change --------
bv=$(ver_of "$B" "$b") sv=$(snap_of "$B")
listing "$B" | LC_ALL=C sort >"$TMP/before"
# shellcheck disable=SC2086
expect_exit 0 "$VFORGE" repo add-targets "$B" --key "$K/bins.pem" $SNAPTS "$SRC/$n=$n"
listing "$B" | LC_ALL=C sort >"$TMP/after"
comm -13 "$TMP/before" "$TMP/after" | awk '{print $2}' | LC_ALL=C sort >"$TMP/changed"
printf '%s\n' "$((bv + 1)).$b.json" "$((sv + 1)).snapshot.json" timestamp.json | LC_ALL=C sort >"$TMP/want"
cmp -s "$TMP/want" "$TMP/changed" || { diff "$TMP/want" "$TMP/changed" >&2; fail "adding $n to bin $b changed other metadata files"; }
[ "$(comm -23 "$TMP/before" "$TMP/after" | awk '{print $2}')" = timestamp.json ] ||
	fail "adding $n removed or changed files besides timestamp.json: $(comm -23 "$TMP/before" "$TMP/after")"
expect_exit 0 "$VFORGE" repo validate "$B" --root "$ROOT"
logstart=$(wc -l <"$NGINX_DIR/access.log")
expect_exit 0 tufjs bins bins --target "$n"
expect_targets "$TMP/out" "$n"
same_targets bins "$n"
tail -n +"$((logstart + 1))" "$NGINX_DIR/access.log" | grep -o 'GET /bins/metadata/[^ ]*' | LC_ALL=C sort >"$TMP/fetched"
printf 'GET /bins/metadata/%s\n' 2.root.json timestamp.json "$((sv + 1)).snapshot.json" "$((bv + 1)).$b.json" |
	LC_ALL=C sort >"$TMP/want"
cmp -s "$TMP/want" "$TMP/fetched" || { diff "$TMP/want" "$TMP/fetched" >&2; fail "tuf-js fetched other metadata than the changed bin"; }

grep -q 'HTTP/1\.[01]" 5[0-9][0-9] ' "$NGINX_DIR/access.log" && fail "nginx answered with a server error"
echo "delegations, nested, terminating, removed and 64 hash bins: tuf-js and validate agree"
