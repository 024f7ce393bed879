#!/bin/sh
# The demo variant boots (issue 9): built by vforge with Debian's kernel and
# vinit in its initramfs, `vforge boot-test` boots it under qemu (TCG) with
# dm-verity enforcing:
#  - the 1.0.0 image boots bank A: its init prints name, version, bank and a
#    read-only root, and SUCCESS (exit 0);
#  - one byte flipped in the ROOT-A block that holds the start of
#    /usr/sbin/init (found with debugfs bmap) stops the boot through dm-verity
#    (restart_on_corruption): exit 3, the corruption shown, no SUCCESS;
#  - 1.1.0 applied onto a 1.0.0 disk with `vforge update apply` (TUF repository
#    served by nginx, as in 810-update.sh) boots bank B and prints 1.1.0.
# Skipped (never passed) only when qemu-system-x86_64 is missing or has no TCG.
. tests/integration/lib.sh
need sfdisk
need jq
need debugfs
need dumpe2fs
need_nginx
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
	skip "qemu-system-x86_64 is not installed (Debian: qemu-system-x86; run ci/install-deps)"
qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg ||
	skip "qemu-system-x86_64 cannot run TCG (qemu-system-x86_64 -accel help lists no tcg)"
[ -f variants/packages/dist/init.json ] || fail "the demo packages are not built (make packages)"
[ -f variants/packages/dist/kernel.json ] || fail "the demo's kernel is not fetched (ci/fetch-kernel, run by make packages)"

NOW=1767225600 # 2026-01-01T00:00:00Z: publish time
CNOW=$((NOW + 86400))

# 1.1.0 (variants/demo with another version and os-release) builds while 1.0.0 boots
demo_version "$TMP/demo-1.1.0" 1.1.0
expect_exit 0 "$VFORGE" build variants/demo -o "$TMP/v1"
"$VFORGE" build "$TMP/demo-1.1.0" -o "$TMP/v2" >"$TMP/v2.log" 2>&1 &
V2=$!
trap 'kill $V2 2>/dev/null; rm -rf "$TMP"' EXIT

DISK=$TMP/disk.img
cp --sparse=always "$TMP/v1/demo-x86_64-1.0.0.img" "$DISK"

# --- 1.0.0 boots bank A
expect_exit 0 "$VFORGE" boot-test "$DISK" --timeout 90
expect_out "bank A (demo x86_64 1.0.0)"
expect_out "vforge-init: variant demo version 1.0.0"
expect_out "vforge-init: bank A"
expect_out "vforge-init: root file system is read-only"
expect_out "vforge-init: /usr/sbin/init is labelled system_u:object_r:"
expect_out "boot-test: success: bank A: the guest printed \"vforge-init: SUCCESS\""
grep -q "vforge-init: FAIL" "$TMP/out" && fail "the demo init reported a failed check"

# --- one flipped byte in the block holding the start of /usr/sbin/init
part() { sfdisk --json "$1" | jq -r ".partitiontable.partitions[] | select(.name == \"$2\") | \"\\(.start) \\(.size)\""; }
set -- $(part "$DISK" ROOT-A)
ROOT_START=$1
dd if="$DISK" of="$TMP/root-a.img" bs=512 skip="$1" count="$2" status=none
BS=$(dumpe2fs -h "$TMP/root-a.img" 2>/dev/null | awk '/^Block size:/ {print $3}')
BLOCK=$(debugfs -R 'bmap /usr/sbin/init 0' "$TMP/root-a.img" 2>/dev/null)
rm -f "$TMP/root-a.img"
case "$BLOCK" in '' | *[!0-9]*) fail "debugfs bmap /usr/sbin/init 0: '$BLOCK'" ;; esac
[ "$BLOCK" -gt 0 ] && [ "$BS" -gt 0 ] || fail "block $BLOCK of size $BS"
cp --sparse=always "$DISK" "$TMP/tampered.img"
flip_byte "$TMP/tampered.img" $((ROOT_START * 512 + BLOCK * BS + 100))
cmp -s "$DISK" "$TMP/tampered.img" && fail "the flip changed nothing"
expect_exit 3 "$VFORGE" boot-test "$TMP/tampered.img" --timeout 90
expect_out "device-mapper: verity"
expect_out "data block $BLOCK is corrupted"
expect_out "boot-test: failure: bank A: dm-verity found a corrupted block"
grep -q "vforge-init: SUCCESS" "$TMP/out" && fail "the tampered root booted to SUCCESS"
grep -q "vforge-init: variant" "$TMP/out" && fail "the tampered /usr/sbin/init ran"
rm -f "$TMP/tampered.img"

# --- 1.1.0 through the updater into bank B, then bank B boots
wait $V2 || { cat "$TMP/v2.log"; fail "building 1.1.0 failed"; }
trap 'rm -rf "$TMP"' EXIT
expect_exit 0 "$VFORGE" key generate --type ed25519 -o "$TMP/k.pem"
expect_exit 0 "$VFORGE" root init "$TMP/root.json" --now $NOW
expect_exit 0 "$VFORGE" root add-key "$TMP/root.json" "$TMP/k.pem.pub" --role root,targets,snapshot,timestamp
expect_exit 0 "$VFORGE" root sign "$TMP/root.json" --key "$TMP/k.pem"
R=$TMP/www/repo
mkdir -p "$TMP/www"
expect_exit 0 "$VFORGE" repo create "$R" --root "$TMP/root.json" --key "$TMP/k.pem" --now $NOW
expect_exit 0 "$VFORGE" repo add-update "$R" --key "$TMP/k.pem" --build "$TMP/v2/build.json" --now $NOW
start_nginx "$TMP/www"
BASE=http://127.0.0.1:$NGINX_PORT/repo
expect_exit 0 "$VFORGE" update apply --image "$DISK" --metadata-dir "$TMP/tuf" --metadata-url "$BASE/metadata" \
	--targets-url "$BASE/targets" --trusted-root "$TMP/root.json" --now $CNOW --seed 0
expect_out "installing demo x86_64 1.1.0 into bank B"
expect_out "bank B boots next"
expect_exit 0 "$VFORGE" boot-test "$DISK" --bank b --timeout 90 --json
jq -e '.bank == "B" and .result == "success" and .exit == 0 and .release.version == "1.1.0"
       and (.lines | index("vforge-init: variant demo version 1.1.0")) != null
       and (.lines | index("vforge-init: bank B")) != null
       and (.lines | index("vforge-init: root file system is read-only")) != null
       and (.lines | index("vforge-init: SUCCESS")) != null' "$TMP/out" >/dev/null ||
	{ cat "$TMP/out"; fail "bank B did not boot 1.1.0"; }
echo "ok"
