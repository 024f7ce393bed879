#!/bin/sh
# vforge update, end to end: the demo variant built as 1.0.0 and 1.1.0, both
# published with `vforge repo add-update` into a TUF repository served by
# nginx on 127.0.0.1; a 1.0.0 disk image checked (waves by seed), updated to
# 1.1.0 through the TUF client, then checked with independent tools: sfdisk
# (A/B attributes, content-addressed ROOT-B/HASH-B UUIDs), debugfs (BOOT-B's
# command line and release file), veritysetup (ROOT-B against HASH-B with the
# root hash of BOOT-B's command line), bank A's bytes unchanged; rollback.
# A tampered root target on the server: apply exits 3, bank A unchanged and
# still the one that boots, bank B unbootable.
. tests/integration/lib.sh
need sfdisk
need jq
need debugfs
need veritysetup
need_nginx
[ -f variants/packages/dist/init.json ] || fail "the demo packages are not built (make packages)"

NOW=1767225600 # 2026-01-01T00:00:00Z: publish time
CNOW=$((NOW + 86400)) # the device's clock: a day later (metadata still valid)

# --- builds: 1.0.0 is variants/demo; 1.1.0 includes it, with another version and os-release
expect_exit 0 "$VFORGE" build variants/demo -o "$TMP/v1"
demo_version "$TMP/demo-1.1.0" 1.1.0
expect_exit 0 "$VFORGE" build "$TMP/demo-1.1.0" -o "$TMP/v2"
ROOT2=$(jq -r .verity.root_hash "$TMP/v2/build.json")
ROOT1=$(jq -r .verity.root_hash "$TMP/v1/build.json")
[ "$ROOT1" != "$ROOT2" ] || fail "1.0.0 and 1.1.0 have the same root hash"

# --- the repository, one key for every role, both releases published
expect_exit 0 "$VFORGE" key generate --type ed25519 -o "$TMP/k.pem"
expect_exit 0 "$VFORGE" root init "$TMP/root.json" --now $NOW
expect_exit 0 "$VFORGE" root add-key "$TMP/root.json" "$TMP/k.pem.pub" --role root,targets,snapshot,timestamp
expect_exit 0 "$VFORGE" root sign "$TMP/root.json" --key "$TMP/k.pem"
R=$TMP/www/repo
mkdir -p "$TMP/www"
expect_exit 0 "$VFORGE" repo create "$R" --root "$TMP/root.json" --key "$TMP/k.pem" --now $NOW
expect_exit 0 "$VFORGE" repo add-update "$R" --key "$TMP/k.pem" --build "$TMP/v1/build.json" --now $NOW
expect_exit 0 "$VFORGE" repo add-update "$R" --key "$TMP/k.pem" --build "$TMP/v2/build.json" --now $NOW
start_nginx "$TMP/www"
BASE=http://127.0.0.1:$NGINX_PORT/repo

DISK=$TMP/disk.img
cp --sparse=always "$TMP/v1/demo-x86_64-1.0.0.img" "$DISK"

# remote VERB ARGS...: vforge update VERB against the served repository
remote() {
	_v=$1; shift
	"$VFORGE" update "$_v" --image "$DISK" --metadata-dir "$TMP/tuf" --metadata-url "$BASE/metadata" \
		--targets-url "$BASE/targets" --trusted-root "$TMP/root.json" --now $CNOW "$@"
}

# part NAME: "start size" in sectors of a partition, from sfdisk
part() { sfdisk --json "$DISK" | jq -r ".partitiontable.partitions[] | select(.name == \"$1\") | \"\\(.start) \\(.size)\""; }
# cut NAME OUT: the partition's bytes into OUT
cut_part() {
	set -- "$1" "$2" $(part "$1")
	dd if="$DISK" of="$2" bs=512 skip="$3" count="$4" status=none
}
# bank_a_sum: sha256 of BOOT-A, ROOT-A and HASH-A
bank_a_sum() {
	for _p in BOOT-A ROOT-A HASH-A; do
		cut_part $_p "$TMP/part.bin"
		sha256sum <"$TMP/part.bin"
	done
	rm -f "$TMP/part.bin"
}
# uuid_of HEX: the first 32 hex digits as a lowercase UUID
uuid_of() { echo "$1" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/'; }
attrs() { sfdisk --json "$DISK" | jq -r ".partitiontable.partitions[] | select(.name == \"$1\") | .attrs // \"\""; }
uuid() { sfdisk --json "$DISK" | jq -r ".partitiontable.partitions[] | select(.name == \"$1\") | .uuid" | tr A-F a-f; }

A_BEFORE=$(bank_a_sum)

# --- status of the fresh disk
expect_exit 0 "$VFORGE" update status --image "$DISK" --json
jq -e '.active == "A" and .next == "A" and .banks[0].version == "1.0.0" and .banks[0].variant == "demo"
       and .banks[0].arch == "x86_64" and .banks[0].priority == 1 and .banks[0].successful
       and .banks[1].version == null and (.banks[1].empty_reason | test("BOOT-B"))
       and .banks[1].bootable == false' "$TMP/out" >/dev/null || { cat "$TMP/out"; fail "status of a fresh disk"; }
[ "$(jq -r .banks[0].root_hash "$TMP/out")" = "$ROOT1" ] || fail "bank A's root hash is not 1.0.0's"
expect_exit 2 "$VFORGE" update status --image "$DISK" --seed 2048
expect_err "--seed: from 0 to 2047, got 2048"

# --- check: waves by seed (default plan: seed 0 at once, seed 2000 after 6 days)
expect_exit 0 remote check --seed 2000
expect_out "bank A: demo x86_64 1.0.0 (wave seed 2000)"
expect_out "up to date: no update for demo x86_64 1.0.0"
expect_exit 0 remote check --seed 2000 --ignore-waves
expect_out "update available: demo x86_64 1.1.0 (max_version 1.1.0)"
expect_exit 0 remote check --seed 0 --json
jq -e '.update.version == "1.1.0" and .update.images.root == "demo-x86_64-1.1.0-root.ext4.zst"
       and .current.version == "1.0.0" and .active == "A" and .seed == 0 and .installed == false' \
	"$TMP/out" >/dev/null || { cat "$TMP/out"; fail "check --json"; }
[ -f "$TMP/tuf/root.json" ] && [ -f "$TMP/tuf/timestamp.json" ] || fail "no trusted state in --metadata-dir"

# --- apply
expect_exit 0 remote apply --seed 0
expect_out "installing demo x86_64 1.1.0 into bank B"
expect_out "ROOT-B verified against HASH-B, root hash $ROOT2"
expect_out "bank B boots next (priority 2, 1 try)"
expect_exit 0 "$VFORGE" update status --image "$DISK" --json
jq -e '.active == "A" and .next == "B" and .banks[1].version == "1.1.0" and .banks[1].priority == 2
       and .banks[1].tries == 1 and .banks[1].successful == false and .banks[1].bootable
       and .banks[0].priority == 1 and .banks[0].successful' "$TMP/out" >/dev/null ||
	{ cat "$TMP/out"; fail "status after apply"; }
expect_exit 0 "$VFORGE" update status --image "$DISK"
expect_out "bank B: demo x86_64 1.1.0 [next]"
expect_out "active: A, next boot: B"

# sfdisk: the A/B bits (priority 48-51, tries 52-55, successful 56) and the UUIDs
[ "$(attrs BOOT-B)" = "GUID:49,52" ] || fail "BOOT-B attributes: $(attrs BOOT-B), expected GUID:49,52"
[ "$(attrs BOOT-A)" = "GUID:48,56" ] || fail "BOOT-A attributes: $(attrs BOOT-A), expected GUID:48,56"
[ "$(uuid ROOT-B)" = "$(uuid_of "$ROOT2")" ] || fail "ROOT-B's UUID $(uuid ROOT-B) is not the root hash's first half"
[ "$(uuid HASH-B)" = "$(uuid_of "$(echo "$ROOT2" | cut -c33-64)")" ] || fail "HASH-B's UUID is not the root hash's second half"
[ "$(uuid ROOT-A)" = "$(uuid_of "$ROOT1")" ] || fail "ROOT-A's UUID changed"

# BOOT-B: its command line names ROOT-B/HASH-B by PARTUUID; veritysetup verifies them
cut_part BOOT-B "$TMP/boot-b.img"
cut_part ROOT-B "$TMP/root-b.img"
cut_part HASH-B "$TMP/hash-b.img"
debugfs -R 'cat /cmdline' "$TMP/boot-b.img" 2>/dev/null >"$TMP/cmdline"
CMD_ROOT=$(sed -E 's/.* sha256 ([0-9a-f]{64}) .*/\1/' "$TMP/cmdline")
[ "$CMD_ROOT" = "$ROOT2" ] || fail "BOOT-B's command line has root hash '$CMD_ROOT', expected $ROOT2"
grep -q "PARTUUID=$(uuid ROOT-B) PARTUUID=$(uuid HASH-B) " "$TMP/cmdline" || fail "BOOT-B's command line does not name ROOT-B and HASH-B"
debugfs -R 'cat /vforge-release' "$TMP/boot-b.img" 2>/dev/null >"$TMP/release"
printf 'VARIANT=demo\nARCH=x86_64\nVERSION=1.1.0\n' | cmp -s - "$TMP/release" || { cat "$TMP/release"; fail "BOOT-B's /vforge-release"; }
veritysetup verify "$TMP/root-b.img" "$TMP/hash-b.img" "$CMD_ROOT" >/dev/null 2>"$TMP/vs.err" ||
	{ cat "$TMP/vs.err"; fail "veritysetup does not verify ROOT-B against HASH-B"; }
rm -f "$TMP/root-b.img" "$TMP/hash-b.img"
[ "$(bank_a_sum)" = "$A_BEFORE" ] || fail "bank A's bytes changed"

# applied, not yet booted: check and apply know, and write nothing
cp --sparse=always "$DISK" "$TMP/disk.before"
expect_exit 0 remote check --seed 0
expect_out "1.1.0 is installed in bank B and boots next"
expect_exit 0 remote apply --seed 0
expect_out "1.1.0 is installed in bank B and boots next"
cmp -s "$DISK" "$TMP/disk.before" || fail "apply of an installed update changed the disk"
rm -f "$TMP/disk.before"

# --- rollback: bank A boots next again; bank B (never successful) no longer boots
expect_exit 0 "$VFORGE" update rollback --image "$DISK"
expect_out "rolled back: bank A (demo 1.0.0) boots next"
expect_exit 0 "$VFORGE" update status --image "$DISK" --json
jq -e '.active == "A" and .next == "A" and .banks[0].priority == 2 and .banks[1].priority == 0
       and .banks[1].bootable == false' "$TMP/out" >/dev/null || { cat "$TMP/out"; fail "status after rollback"; }
[ "$(attrs BOOT-A)" = "GUID:49,56" ] || fail "BOOT-A attributes after rollback: $(attrs BOOT-A)"
[ "$(bank_a_sum)" = "$A_BEFORE" ] || fail "bank A's bytes changed"

# --- a tampered root target on the server: exit 3, bank A untouched and booting
cp --sparse=always "$TMP/v1/demo-x86_64-1.0.0.img" "$DISK"
T=$(ls "$R"/targets/*.demo-x86_64-1.1.0-root.ext4.zst)
cp "$T" "$TMP/root-target.orig"
flip_byte "$T" $(( $(stat -c %s "$T") / 2 ))
expect_exit 3 remote apply --seed 0
expect_err "target 'demo-x86_64-1.1.0-root.ext4.zst'"
expect_err "sha256"
grep -c "demo-x86_64-1.1.0-root.ext4.zst" "$TMP/err" | grep -qx 1 || fail "the target is named more than once: $(cat "$TMP/err")"
cp "$TMP/root-target.orig" "$T"
expect_exit 0 "$VFORGE" update status --image "$DISK" --json
jq -e '.active == "A" and .next == "A" and .banks[1].bootable == false and .banks[1].priority == 0
       and .banks[0].priority == 1 and .banks[0].successful' "$TMP/out" >/dev/null ||
	{ cat "$TMP/out"; fail "status after a refused update"; }
[ "$(attrs BOOT-A)" = "GUID:48,56" ] || fail "BOOT-A attributes changed: $(attrs BOOT-A)"
[ "$(bank_a_sum)" = "$A_BEFORE" ] || fail "bank A's bytes changed by a refused update"
# and with the target restored it goes through
expect_exit 0 remote apply --seed 0 --json
jq -e --arg root "$ROOT2" '.bank == "B" and .active == "A" and .root_hash == $root
       and .update.version == "1.1.0" and .written.root > 0' "$TMP/out" >/dev/null ||
	{ cat "$TMP/out"; fail "apply --json"; }
[ "$(attrs BOOT-B)" = "GUID:49,52" ] || fail "BOOT-B attributes after the second apply: $(attrs BOOT-B)"
echo "ok"
