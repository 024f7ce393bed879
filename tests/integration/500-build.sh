# vforge build: reproducible images, checked with independent tools
# (e2fsck, debugfs, sfdisk, veritysetup) and by building twice.
. tests/integration/lib.sh
need e2fsck; need debugfs; need sfdisk; need veritysetup; need python3

# A package with every kind of entry.
P=$TMP/pkg
mkdir -p "$P/usr/bin" "$P/usr/lib/many" "$P/etc/app" "$P/dev" "$P/boot" "$P/run"
printf 'hello\n' >"$P/etc/app/hello.conf"
gen 5 3000000 "$P/usr/lib/blob"
dd if=/dev/zero of="$P/usr/lib/zeros" bs=1M count=1 status=none
printf 'tool' >"$P/usr/bin/tool"
ln "$P/usr/bin/tool" "$P/usr/bin/tool-alias"
printf 'suid' >"$P/usr/bin/ping"
ln -s tool "$P/usr/bin/fast-link"
ln -s "/usr/lib/$(printf 'x%.0s' $(seq 1 100))" "$P/usr/bin/slow-link"
mknod "$P/dev/null" c 1 3
mkfifo "$P/run/fifo"
i=0; while [ $i -lt 2000 ]; do : >"$P/usr/lib/many/f$i"; i=$((i + 1)); done
printf 'kernel' >"$P/boot/vmlinuz"
chmod 0755 "$P/usr/bin/tool"; chmod 4755 "$P/usr/bin/ping"; chmod 0640 "$P/etc/app/hello.conf"
python3 -c "import os; os.setxattr('$P/usr/bin/ping', 'security.capability', bytes.fromhex('0000000200200000000000000000000000000000')); os.setxattr('$P/etc/app/hello.conf', 'user.note', b'kept')"
mkdir -p "$TMP/v"
expect_exit 0 "$VFORGE" pack "$P" -o "$TMP/v/app.tar.zst" --owner 0:0 --mtime 1700000000
sum=$(cut -d' ' -f1 "$TMP/out")
cat >"$TMP/v/variant.json" <<JSON
{
  "name": "t", "version": "2.0.0", "arch": "x86_64",
  "packages": [ { "name": "app", "path": "app.tar.zst", "sha256": "$sum", "allow_devices": true } ],
  "files": [ { "path": "/etc/owned", "content": "x", "mode": "0600", "uid": 70000, "gid": 70001 } ],
  "kernel": { "cmdline": ["lockdown=integrity", "console=ttyS0"] },
  "selinux": { "default": "system_u:object_r:os_t:s0",
               "file_contexts": [ { "regex": "/etc(/.*)?", "label": "system_u:object_r:etc_t:s0" } ] },
  "policy": { "allow": ["/usr/bin/ping"] },
  "layout": { "boot_size": "8MiB", "root_size": "32MiB", "hash_size": "1MiB",
              "reserved_size": "1MiB", "private_size": "4MiB", "data_size": "8MiB" }
}
JSON

expect_exit 0 "$VFORGE" build "$TMP/v" -o "$TMP/a"
A=$TMP/a; img=$A/t-x86_64-2.0.0.img
for f in t-x86_64-2.0.0.img t-x86_64-2.0.0-boot.ext4.zst t-x86_64-2.0.0-root.ext4.zst \
	t-x86_64-2.0.0-root.verity.zst build.json; do
	[ -f "$A/$f" ] || fail "missing output $f"
done
[ -z "$(ls -A "$A" | grep '^\.')" ] || fail "temporary files left in the output directory"

# --- the partition table, as sfdisk reads it
sfdisk --json "$img" >"$TMP/sf.json"
python3 - "$TMP/sf.json" "$A/build.json" <<'PY'
import json, sys
sf = json.load(open(sys.argv[1]))["partitiontable"]
b = json.load(open(sys.argv[2]))
names = [p["name"] for p in sf["partitions"]]
assert names == ["BOOT-A","ROOT-A","HASH-A","RESERVED-A","BOOT-B","ROOT-B","HASH-B","RESERVED-B","PRIVATE","DATA"], names
assert sf["firstlba"] == 2048, sf
assert sf["id"].lower() == b["disk"]["guid"], (sf["id"], b["disk"])
byname = {p["name"]: p for p in sf["partitions"]}
for p in b["partitions"]:
    s = byname[p["name"]]
    assert s["start"] == p["first_lba"] and s["size"] * 512 == p["size"], (s, p)
    assert s["uuid"].lower() == p["uuid"], (s, p)
    assert s["type"].lower() == p["type"], (s, p)
    assert s["start"] % 2048 == 0 and s["size"] % 2048 == 0, s
assert byname["ROOT-A"]["type"] == "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
assert byname["HASH-A"]["type"] == "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5"
assert byname["BOOT-A"]["type"] == "BC13C2FF-59E6-4262-A352-B275FD6F7172"
assert byname["BOOT-A"].get("attrs") == "GUID:48,56", byname["BOOT-A"]
root = b["verity"]["root_hash"]
assert byname["ROOT-A"]["uuid"].replace("-", "").lower() == root[:32]
assert byname["HASH-A"]["uuid"].replace("-", "").lower() == root[32:]
c = b["kernel_cmdline"]
assert 'dm-mod.create="root,,,ro,0 65536 verity 1 PARTUUID=%s PARTUUID=%s 4096 4096 8192 1 sha256 %s %s 2 restart_on_corruption ignore_zero_blocks"' % (
    byname["ROOT-A"]["uuid"].lower(), byname["HASH-A"]["uuid"].lower(), root, b["verity"]["salt"]) in c, c
assert "root=/dev/dm-0" in c and c.endswith("lockdown=integrity console=ttyS0"), c
assert b["variant"] == {"name": "t", "version": "2.0.0", "arch": "x86_64"}
assert b["source_date_epoch"] == 1700000000
assert [i["name"] for i in b["inputs"]] == ["app"]
PY

# --- extract the partitions with dd, check them with e2fsck and veritysetup
part() { # name -> start size (sectors)
	python3 -c "import json,sys; p=[x for x in json.load(open('$A/build.json'))['partitions'] if x['name']=='$1'][0]; print(p['first_lba'], p['size']//512)"
}
extract() { set -- "$1" $(part "$1"); dd if="$img" of="$TMP/$1" bs=512 skip="$2" count="$3" status=none; }
for p in ROOT-A HASH-A BOOT-A PRIVATE DATA; do extract $p; done
for p in ROOT-A BOOT-A PRIVATE DATA; do
	e2fsck -fn "$TMP/$p" >"$TMP/fsck.log" 2>&1 || { cat "$TMP/fsck.log"; fail "e2fsck finds problems in $p"; }
done
root=$(python3 -c "import json; print(json.load(open('$A/build.json'))['verity']['root_hash'])")
veritysetup verify "$TMP/ROOT-A" "$TMP/HASH-A" "$root" || fail "veritysetup rejects ROOT-A/HASH-A"
expect_exit 0 "$VFORGE" inspect "$img"
expect_out "ROOT-A against HASH-A: verified"
# the update targets (a frame per 8 MiB) decompress with the zstd tool to the partitions
for t in root.ext4:ROOT-A boot.ext4:BOOT-A; do
	zstd -dcq "$A/t-x86_64-2.0.0-${t%%:*}.zst" | cmp - "$TMP/${t#*:}" ||
		fail "zstd -d of the ${t%%:*} target differs from ${t#*:}"
done
zstd -dcq "$A/t-x86_64-2.0.0-root.verity.zst" >"$TMP/verity.out" || fail "zstd -d of the verity target"
[ -s "$TMP/verity.out" ] && cmp -n "$(stat -c %s "$TMP/verity.out")" "$TMP/verity.out" "$TMP/HASH-A" ||
	fail "the verity target is not the start of HASH-A"

# --- debugfs shows the tree exactly
dbg() { debugfs -R "$1" "$TMP/ROOT-A" 2>/dev/null; }
mkdir "$TMP/rd"; debugfs -R "rdump /usr $TMP/rd" "$TMP/ROOT-A" >/dev/null 2>&1
cmp "$TMP/rd/usr/lib/blob" "$P/usr/lib/blob" || fail "content of /usr/lib/blob differs"
cmp "$TMP/rd/usr/lib/zeros" "$P/usr/lib/zeros" || fail "content of /usr/lib/zeros differs"
[ "$(ls "$TMP/rd/usr/lib/many" | wc -l)" = 2000 ] || fail "a directory lost entries"
dbg 'stat /usr/bin/ping' | grep -q 'Mode:  04755' || fail "setuid mode lost"
dbg 'ea_list /usr/bin/ping' | grep -q 'security.capability' || fail "security.capability lost"
dbg 'ea_list /etc/app/hello.conf' | grep -q 'user.note (4) = "kept"' || fail "user xattr lost"
dbg 'ea_list /etc/app/hello.conf' | grep -q 'security.selinux (27) = "system_u:object_r:etc_t:s0' || fail "SELinux label (etc_t) missing"
dbg 'ea_list /usr/bin/tool' | grep -q 'system_u:object_r:os_t:s0' || fail "default SELinux label missing"
dbg 'stat /etc/owned' | grep -q 'User: 70000   Group: 70001' || fail "large uid/gid lost"
dbg 'stat /etc/app/hello.conf' | grep -q 'Mode:  0640' || fail "mode lost"
dbg 'stat /usr/bin/tool' | grep -q 'Links: 2' || fail "hardlink count wrong"
[ "$(dbg 'stat /usr/bin/tool' | sed -n 's/^Inode: \([0-9]*\).*/\1/p')" = \
  "$(dbg 'stat /usr/bin/tool-alias' | sed -n 's/^Inode: \([0-9]*\).*/\1/p')" ] || fail "hardlinks are not one inode"
dbg 'stat /usr/bin/fast-link' | grep -q 'Fast link dest: "tool"' || fail "fast symlink wrong"
[ "$(readlink "$TMP/rd/usr/bin/slow-link")" = "$(readlink "$P/usr/bin/slow-link")" ] || fail "slow symlink target wrong"
dbg 'stat /usr/bin/slow-link' | grep -q 'Size: 109' || fail "slow symlink size wrong"
dbg 'stat /dev/null' | grep -q 'Device major/minor number: 01:03' || fail "device node wrong"
dbg 'stat /run/fifo' | grep -q 'Type: FIFO' || fail "fifo missing"
dbg 'stat /usr/lib/zeros' | grep -q 'Blockcount: 0' || fail "an all-zero file is not a hole"
dbg 'stat /etc/app/hello.conf' | grep -q 'mtime: 0x6553f100:00000000' || fail "mtime not the package's"
dbg 'stat /etc/app/hello.conf' | grep -q 'ctime: 0x6553f100:00000000' || fail "ctime not SOURCE_DATE_EPOCH"
dbg 'ls /boot' | grep -q vmlinuz && fail "/boot contents are in ROOT"
debugfs -R 'cat /vmlinuz' "$TMP/BOOT-A" 2>/dev/null | grep -q kernel || fail "BOOT lacks the kernel"
debugfs -R 'cat /cmdline' "$TMP/BOOT-A" 2>/dev/null | grep -q "PARTUUID=" || fail "BOOT lacks the command line"

# --- reproducible: another directory, TZ, locale, umask, threads, touched inputs
touch "$TMP/v/app.tar.zst" "$TMP/v/variant.json"
(cd / && TZ=Asia/Kolkata LC_ALL=C.UTF-8 && umask 077 && export TZ LC_ALL &&
	"$VFORGE" build "$TMP/v" -o "$TMP/b" --threads 1 >/dev/null) || fail "second build failed"
(cd "$TMP/a" && sha256sum -- *) >"$TMP/a.sum"
# build.json's size and sha256 of every output are the files' own (stat, sha256sum)
python3 - "$TMP/a" <<'PY' || fail "build.json's output sizes do not match the files"
import json, os, sys
d = sys.argv[1]
outs = json.load(open(os.path.join(d, "build.json")))["outputs"]
assert len(outs) >= 4, outs
for o in outs:
    assert os.path.getsize(os.path.join(d, o["name"])) == o["size"], o
PY
while read -r osum oname; do
	[ "$oname" = build.json ] && continue
	grep -q "\"sha256\": \"$osum\"" "$TMP/a/build.json" || fail "build.json lacks the sha256 $osum of $oname"
done <"$TMP/a.sum"
(cd "$TMP/b" && sha256sum -- *) >"$TMP/b.sum"
diff "$TMP/a.sum" "$TMP/b.sum" || fail "two builds differ"
# the outputs' modes do not follow the umask either
modes=$(cd "$TMP/b" && stat -c '%a' -- * | sort -u)
[ "$modes" = 644 ] || fail "outputs built under umask 077 have modes '$modes', not 644"

# --- one changed byte in a package changes the root hash
printf 'hellO\n' >"$P/etc/app/hello.conf"
expect_exit 0 "$VFORGE" pack "$P" -o "$TMP/v/app.tar.zst" --owner 0:0 --mtime 1700000000
sed -i "s/$sum/$(cut -d' ' -f1 "$TMP/out")/" "$TMP/v/variant.json"
expect_exit 0 "$VFORGE" build "$TMP/v" -o "$TMP/c" --json
python3 -c "import json,sys; r=json.load(open('$TMP/c/build.json'))['verity']['root_hash']; sys.exit(r == '$root')" ||
	fail "changing a package did not change the root hash"

# --- a tampered ROOT-A is caught by inspect (exit 3)
cp "$img" "$TMP/t.img"
set -- $(part ROOT-A)
printf 'X' | dd of="$TMP/t.img" bs=1 seek=$(( $1 * 512 + 4096 * 5 + 17 )) conv=notrunc status=none
expect_exit 3 "$VFORGE" inspect "$TMP/t.img"
expect_err "does not verify"

# --- a tree that does not fit, and bad layouts: clear errors, nothing written
sed -i 's/"root_size": "32MiB"/"root_size": "1MiB"/' "$TMP/v/variant.json"
expect_exit 1 "$VFORGE" build "$TMP/v" -o "$TMP/d"
expect_err "ROOT-A"
expect_err "does not fit"
[ -z "$(ls -A "$TMP/d" 2>/dev/null)" ] || fail "a failed build left files: $(ls -A "$TMP/d")"
sed -i 's/"root_size": "1MiB"/"root_size": "3MiB"/' "$TMP/v/variant.json"
expect_exit 0 "$VFORGE" build "$TMP/v" -o "$TMP/e" --minimize
for bad in '"root_size": "0MiB"' '"root_size": "1000KiB"' '"boot_size": "abc"'; do
	sed "s/\"root_size\": \"3MiB\"/$bad/" "$TMP/v/variant.json" >"$TMP/v2.json"
	cp "$TMP/v/app.tar.zst" "$TMP/app.tar.zst"
	expect_exit 1 "$VFORGE" build "$TMP/v2.json" -o "$TMP/f"
	[ ! -e "$TMP/f" ] || [ -z "$(ls -A "$TMP/f")" ] || fail "bad layout ($bad) left files"
done

# --- usage
expect_exit 2 "$VFORGE" build "$TMP/v"
expect_err "missing -o"
expect_exit 2 "$VFORGE" build "$TMP/v" -o "$TMP/g" --seed xyz
expect_exit 2 "$VFORGE" inspect
