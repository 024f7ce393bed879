# The demo variant boots a stock Debian kernel package: BOOT gets the package's
# kernel as /vmlinuz and a deterministic initramfs as /initrd.img. Checked with
# independent tools: debugfs reads BOOT-A, dpkg-deb unpacks the package, GNU
# cpio lists and extracts the initramfs, objcopy reads each module's
# .modinfo (its dependencies load first). Two builds give the same bytes; a
# wrong pin and an unknown module fail, naming what is wrong.
. tests/integration/lib.sh
need debugfs
need dpkg-deb
need cpio
need objcopy
dist=variants/packages/dist
[ -f $dist/kernel.json ] || fail "no $dist/kernel.json: run 'make packages' (ci/fetch-kernel)"
[ -f $dist/vinit.json ] || fail "no $dist/vinit.json: run 'make packages'"
deb=$dist/$(sed -n 's/.*"path": *"\([^"]*\)".*/\1/p' $dist/kernel.json)
sum=$(sed -n 's/.*"sha256": *"\([0-9a-f]*\)".*/\1/p' $dist/kernel.json)
[ -f "$deb" ] || fail "the kernel package '$deb' is missing: run 'make packages'"

# --- two builds, the same bytes
expect_exit 0 "$VFORGE" build variants/demo -o "$TMP/a"
(cd / && "$VFORGE" build "$VF_TOP/variants/demo" -o "$TMP/b" --threads 1 >/dev/null) ||
	fail "second build failed"
(cd "$TMP/a" && sha256sum -- *) >"$TMP/a.sum"
(cd "$TMP/b" && sha256sum -- *) >"$TMP/b.sum"
diff "$TMP/a.sum" "$TMP/b.sum" || fail "two builds of variants/demo differ"
A=$TMP/a
img=$A/demo-x86_64-1.0.0.img

# build.json records the kernel package as an input
python3 - "$A/build.json" "$sum" <<'EOF' || fail "build.json lacks the kernel input"
import json, sys
b = json.load(open(sys.argv[1]))
k = [i for i in b["inputs"] if i["kind"] == "kernel"]
assert len(k) == 1 and k[0]["sha256"] == sys.argv[2], k
assert k[0]["path"].startswith("../packages/dist/linux-image-") and k[0]["path"].endswith(".deb"), k
EOF

# --- BOOT-A, cut out of the disk at build.json's offsets
set -- $(python3 -c "import json; p=[x for x in json.load(open('$A/build.json'))['partitions'] if x['name']=='BOOT-A'][0]; print(p['first_lba'], p['size']//512)")
dd if="$img" of="$TMP/boot" bs=512 skip="$1" count="$2" status=none
e2fsck -fn "$TMP/boot" >"$TMP/fsck.log" 2>&1 || { cat "$TMP/fsck.log"; fail "e2fsck finds problems in BOOT-A"; }
debugfs -R 'ls -l /' "$TMP/boot" 2>/dev/null >"$TMP/ls"
for f in vmlinuz initrd.img cmdline vforge-release; do
	grep -q "100644 (1) *0 *0 .* $f\$" "$TMP/ls" || { cat "$TMP/ls"; fail "BOOT-A lacks /$f (0644, root)"; }
done
debugfs -R "dump /vmlinuz $TMP/vmlinuz" "$TMP/boot" 2>/dev/null
debugfs -R "dump /initrd.img $TMP/initrd.img" "$TMP/boot" 2>/dev/null
debugfs -R "ea_list /vmlinuz" "$TMP/boot" 2>/dev/null | grep -q "security.selinux" ||
	fail "/vmlinuz has no SELinux label"

# --- the package, unpacked by dpkg
mkdir "$TMP/deb"
dpkg-deb -x "$deb" "$TMP/deb"
set -- "$TMP"/deb/boot/vmlinuz-*
[ $# -eq 1 ] || fail "the package has $# boot/vmlinuz-* files"
cmp "$TMP/vmlinuz" "$1" || fail "/vmlinuz differs from the package's $1"

# --- the initramfs: GNU cpio lists it, in this order, with these modes and owners
cpio -itv <"$TMP/initrd.img" >"$TMP/cpio.txt" 2>"$TMP/cpio.err" || { cat "$TMP/cpio.err"; fail "cpio cannot read /initrd.img"; }
awk '{print $NF}' "$TMP/cpio.txt" >"$TMP/names"
mods=$(grep '^modules/[0-9][0-9]-' "$TMP/names" | sed 's|^modules/||')
{
	printf 'dev\ninit\nmodules\n'
	printf '%s\n' $mods | sed 's|^|modules/|'
	printf 'modules/order\nnewroot\nproc\nsys\n'
} >"$TMP/want"
diff "$TMP/want" "$TMP/names" || fail "initramfs entries or their order differ"
grep -q '^-rwxr-xr-x   1 root     root .* init$' "$TMP/cpio.txt" || fail "/init is not 0755 root"
for d in dev modules newroot proc sys; do
	grep -q "^drwxr-xr-x   2 root     root .* $d\$" "$TMP/cpio.txt" || fail "$d is not a 0755 directory"
done
[ "$(grep -c ' Jan  1  2026 ' "$TMP/cpio.txt")" = "$(wc -l <"$TMP/cpio.txt")" ] ||
	fail "not every entry has mtime SOURCE_DATE_EPOCH (2026-01-01)"
# the numbers: 00, 01, ... in order
i=0
for m in $mods; do
	[ "${m%%-*}" = "$(printf %02d $i)" ] || fail "module $m is not number $i"
	i=$((i + 1))
done

# --- extract it: every module byte-identical to the package's, /init to the vinit binary
mkdir "$TMP/ird"
(cd "$TMP/ird" && cpio -idm --quiet <"$TMP/initrd.img")
printf '%s\n' $mods | cmp - "$TMP/ird/modules/order" || fail "modules/order differs from the archive's module list"
: >"$TMP/seen"
for m in $mods; do
	file=${m#[0-9][0-9]-}
	src=$(find "$TMP/deb/lib/modules" "$TMP/deb/usr/lib/modules" -name "$file" 2>/dev/null || true)
	[ "$(printf '%s\n' "$src" | grep -c .)" = 1 ] || fail "module $file: not exactly one in the package: $src"
	cmp "$TMP/ird/modules/$m" "$src" || fail "module $m differs from the package's $src"
	# its dependencies (objcopy reads .modinfo) are loaded before it
	objcopy -O binary --only-section=.modinfo "$src" "$TMP/modinfo"
	deps=$(tr '\0' '\n' <"$TMP/modinfo" | sed -n 's/^depends=//p' | tr ',' ' ')
	for d in $deps; do
		dn=$(printf '%s' "$d" | tr - _)
		grep -qx "$dn" "$TMP/seen" || fail "module $file depends on $d, which is not loaded before it"
	done
	printf '%s\n' "${file%.ko}" | tr - _ >>"$TMP/seen"
done
for want in virtio_pci virtio_blk dm_verity crc32c_generic ext4 dm_mod dm_bufio jbd2; do
	grep -qx "$want" "$TMP/seen" || fail "the initramfs lacks module $want"
done
mkdir "$TMP/vinit"
tar -x --zstd -f $dist/vinit.tar.zst -C "$TMP/vinit" ./usr/lib/vforge/vinit 2>/dev/null ||
	tar -x --zstd -f $dist/vinit.tar.zst -C "$TMP/vinit" usr/lib/vforge/vinit
cmp "$TMP/ird/init" "$TMP/vinit/usr/lib/vforge/vinit" || fail "/init differs from the vinit package's binary"

# --- a wrong pin names the file and both hashes
bad=$(printf '%s' "$sum" | tr '0-9a-f' '1-9a-f0')
absdeb=$(realpath "$deb")
cat >"$TMP/badpin.json" <<EOF
{ "include": ["$VF_TOP/variants/demo/variant.json"],
  "kernel": { "package": { "path": "$absdeb", "sha256": "$bad" } } }
EOF
expect_exit 3 "$VFORGE" build "$TMP/badpin.json" -o "$TMP/c"
expect_err "$absdeb"
expect_err "sha256 mismatch: expected $bad, got $sum"
[ ! -e "$TMP/c/demo-x86_64-1.0.0.img" ] || fail "a failed build left an image"

# --- a module the package lacks is named
cat >"$TMP/nomod.json" <<EOF
{ "include": ["$VF_TOP/variants/demo/variant.json"],
  "kernel": { "modules": ["virtio_blk", "no_such_module"] } }
EOF
expect_exit 1 "$VFORGE" build "$TMP/nomod.json" -o "$TMP/d"
expect_err "module 'no_such_module' is not in the kernel package"
# ... and a kernel.init that is not in the tree
cat >"$TMP/noinit.json" <<EOF
{ "include": ["$VF_TOP/variants/demo/variant.json"],
  "kernel": { "init": "/usr/lib/vforge/missing" } }
EOF
expect_exit 1 "$VFORGE" build "$TMP/noinit.json" -o "$TMP/e"
expect_err "kernel.init: '/usr/lib/vforge/missing' is not in the composed tree"
exit 0
