#!/bin/sh
# vforge boot-test's runner, independent of the demo variant: a hand-made GPT
# disk whose BOOT-A (ext4, mke2fs -d) holds Debian's kernel, an initramfs with
# a tiny static /init and a /cmdline; the init's behaviour is chosen on the
# command line (the kernel hands "vbt=..." to init's environment). Real boots
# under qemu (TCG): success (exit 0), a kernel panic (exit 3), a hanging
# guest (timeout, exit 1, qemu killed), SIGTERM to vforge (qemu killed,
# temporary files removed); refusals without qemu: a bank without /vmlinuz, a
# missing qemu, usage errors. The other verdicts (a reported failure, vinit:
# FATAL, dm-verity) are unit-tested on transcripts and with a stand-in qemu
# (tests/unit/boottest); the demo's real boots are 900-boot.sh.
. tests/integration/lib.sh
need sfdisk
need mke2fs
need cpio
need cc
need dpkg-deb
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
	skip "qemu-system-x86_64 is not installed (Debian: qemu-system-x86; run ci/install-deps)"
qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg ||
	skip "qemu-system-x86_64 cannot run TCG (qemu-system-x86_64 -accel help lists no tcg)"

# the kernel: Debian's linux-image .deb (VF_KERNEL_DEB, else the one the build setup fetched)
KDEB=${VF_KERNEL_DEB:-}
if [ -z "$KDEB" ]; then
	for _d in variants/packages/dist/linux-image-*.deb variants/packages/kernel/*.deb /tmp/kpkg/linux-image-*.deb; do
		[ -f "$_d" ] && KDEB=$_d && break
	done
fi
[ -n "$KDEB" ] && [ -f "$KDEB" ] ||
	skip "no linux-image .deb found (set VF_KERNEL_DEB or fetch it: apt-get download linux-image-<version>-amd64)"
mkdir -p "$TMP/kpkg"
dpkg-deb --fsys-tarfile "$KDEB" | (cd "$TMP/kpkg" && tar -x --wildcards './boot/vmlinuz-*')
VMLINUZ=$(ls "$TMP"/kpkg/boot/vmlinuz-* | head -1)
[ -s "$VMLINUZ" ] || fail "no /boot/vmlinuz-* in $KDEB"

# the init: what it does comes from vbt= on the kernel command line
cat >"$TMP/init.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>
int main(void)
{
	const char *m = getenv("vbt");

	m = m ? m : "none";
	printf("vinit: test init, mode %s\n", m);
	if (strcmp(m, "success") == 0)
		printf("vforge-init: variant runner version 0.0.1\nvforge-init: SUCCESS\n");
	else if (strcmp(m, "failure") == 0)
		printf("vforge-init: FAILURE\n");
	else if (strcmp(m, "panic") == 0)
		return 1; /* init exits: the kernel panics */
	else if (strcmp(m, "hang") == 0)
		for (;;)
			pause();
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
C
cc -static -Os -s -o "$TMP/init" "$TMP/init.c" || fail "cannot build a static init (libc6-dev's libc.a)"
mkdir -p "$TMP/ir"
cp "$TMP/init" "$TMP/ir/init"
(cd "$TMP/ir" && echo init | cpio -o -H newc --quiet >"$TMP/initrd.img")

# disk MODE [NO_KERNEL]: $TMP/MODE.img, BOOT-A booting init with vbt=MODE; BOOT-B without a kernel
disk() {
	_img=$TMP/$1.img _b=$TMP/boot-$1
	rm -rf "$_b"; mkdir -p "$_b"
	cp "$VMLINUZ" "$_b/vmlinuz"
	cp "$TMP/initrd.img" "$_b/initrd.img"
	printf 'console=ttyS0 vbt=%s\n' "$1" >"$_b/cmdline"
	printf 'VARIANT=runner\nARCH=x86_64\nVERSION=0.0.1\n' >"$_b/vforge-release"
	truncate -s 48M "$_img"
	sfdisk -q "$_img" <<SF
label: gpt
first-lba: 2048
start=2048, size=40960, name="BOOT-A", attrs="GUID:48,56"
size=2048, name="ROOT-A"
size=2048, name="HASH-A"
size=8192, name="BOOT-B"
size=2048, name="ROOT-B"
size=2048, name="HASH-B"
SF
	mke2fs -q -t ext4 -O ^has_journal -d "$_b" -E offset=$((2048 * 512)) "$_img" 20M ||
		fail "mke2fs BOOT-A"
	rm -f "$_b/vmlinuz"
	mke2fs -q -t ext4 -O ^has_journal -d "$_b" -E offset=$(((2048 + 40960 + 4096) * 512)) "$_img" 4M ||
		fail "mke2fs BOOT-B"
}

# --- success: exit 0, the guest's lines and the verdict
disk success
cp "$TMP/success.img" "$TMP/success.orig"
expect_exit 0 "$VFORGE" boot-test "$TMP/success.img" --timeout 60 --console "$TMP/console.txt"
expect_out "boot-test: '$TMP/success.img' bank A (runner x86_64 0.0.1)"
expect_out "vinit: test init, mode success"
expect_out "vforge-init: variant runner version 0.0.1"
expect_out "boot-test: success: bank A: the guest printed \"vforge-init: SUCCESS\""
grep -q "Linux version" "$TMP/console.txt" || fail "--console lacks the kernel's banner"
grep -q "Command line: console=ttyS0 vbt=success panic=-1" "$TMP/console.txt" ||
	fail "the kernel did not get '/cmdline panic=-1': $(grep 'Command line' "$TMP/console.txt")"
cmp -s "$TMP/success.img" "$TMP/success.orig" || fail "boot-test changed the disk image"
rm -f "$TMP/success.orig"
# --json
expect_exit 0 "$VFORGE" boot-test "$TMP/success.img" --bank a --json
if command -v jq >/dev/null 2>&1; then
	jq -e '.bank == "A" and .result == "success" and .exit == 0 and .cause == "success"
	       and (.lines | index("vforge-init: SUCCESS")) != null and .seconds > 0
	       and .release.version == "0.0.1" and .accel == "tcg"' "$TMP/out" >/dev/null ||
		{ cat "$TMP/out"; fail "boot-test --json"; }
fi

# --- init exits: kernel panic, panic=-1 restarts, -no-reboot ends qemu: exit 3
disk panic
expect_exit 3 "$VFORGE" boot-test "$TMP/panic.img" --timeout 60
expect_out "Kernel panic"
expect_out "boot-test: failure: bank A: the kernel panicked: "

# --- a guest that never finishes: exit 1 at the timeout, qemu killed
disk hang
expect_exit 1 "$VFORGE" boot-test "$TMP/hang.img" --timeout 10
expect_out "vinit: test init, mode hang"
expect_out "boot-test: timeout: bank A: no result within 10 s: qemu killed"
expect_err "no result within 10 s"
pgrep -f "file=$TMP/hang.img" >/dev/null && fail "qemu still runs after the timeout"

# --- SIGTERM to vforge: qemu killed, the extracted kernel removed, vforge dies of SIGTERM
mkdir -p "$TMP/t"
TMPDIR=$TMP/t "$VFORGE" boot-test "$TMP/hang.img" --timeout 300 >"$TMP/sig.out" 2>"$TMP/sig.err" &
VPID=$!
_i=0
until grep -q "mode hang" "$TMP/sig.out" 2>/dev/null; do
	_i=$((_i + 1)); [ $_i -lt 600 ] || { kill -KILL $VPID; fail "the hanging guest did not start in 60 s"; }
	sleep 0.1
done
ls "$TMP/t" | grep -q '^vforge-boot\.' || fail "no temporary directory while qemu runs"
kill -TERM $VPID
set +e; wait $VPID; rc=$?; set -e
[ "$rc" = 143 ] || { cat "$TMP/sig.err"; fail "vforge after SIGTERM: exit $rc, expected 143"; }
pgrep -f "file=$TMP/hang.img" >/dev/null && fail "qemu still runs after SIGTERM to vforge"
[ -z "$(ls "$TMP/t")" ] || fail "temporary files left after SIGTERM: $(ls "$TMP/t")"

# --- refusals before qemu runs
expect_exit 1 "$VFORGE" boot-test "$TMP/success.img" --bank b
expect_err "BOOT-B has no /vmlinuz: not a bootable bank (build the variant with a kernel package)"
expect_exit 1 "$VFORGE" boot-test "$TMP/success.img" --qemu "$TMP/no-such-qemu"
expect_err "cannot run '$TMP/no-such-qemu': No such file or directory"
expect_exit 1 env PATH=/nonexistent "$VFORGE" boot-test "$TMP/success.img"
expect_err "(install qemu-system-x86 or give --qemu)"
expect_exit 2 "$VFORGE" boot-test "$TMP/success.img" --bank c
expect_err "--bank: expected a or b, got 'c'"
expect_exit 2 "$VFORGE" boot-test "$TMP/success.img" --timeout 0
expect_err "--timeout: from 1 to 86400 seconds, got 0"
expect_exit 2 "$VFORGE" boot-test
expect_err "missing <disk.img>"
expect_exit 1 "$VFORGE" boot-test "$TMP/missing.img"
expect_err "missing.img"
echo "ok"
