# reprotest (Debian's independent reproducibility checker) over `vforge build`:
# a control build and an experiment varying the environment, build path,
# ASLR, CPU count, wall clock (faketime), directory order (disorderfs), home,
# locale, exec path, time zone and umask must give identical outputs. The
# control that the test can fail: a deliberately non-reproducible input
# (VFORGE_TEST_UNREPRODUCIBLE) makes reprotest report a difference.
. tests/integration/lib.sh
need reprotest; need faketime; need python3
vf=$(cd "$(dirname "$VFORGE")" && pwd)/$(basename "$VFORGE")

# the source: a variant with a package whose directory entries can be shuffled
S=$TMP/src
mkdir -p "$S/pkg/etc/app" "$S/pkg/usr/lib/many"
i=0; while [ $i -lt 50 ]; do printf 'f%s\n' $i >"$S/pkg/usr/lib/many/f$i"; i=$((i + 1)); done
printf 'hello\n' >"$S/pkg/etc/app/hello.conf"
expect_exit 0 "$VFORGE" pack "$S/pkg" -o "$S/app.tar.zst" --owner 0:0 --mtime 1767225600
sum=$(cut -d' ' -f1 "$TMP/out")
rm -rf "$S/pkg"
cat >"$S/variant.json" <<JSON
{
  "name": "tiny", "version": "1.0.0", "arch": "x86_64",
  "packages": [ { "name": "app", "path": "app.tar.zst", "sha256": "$sum" } ],
  "files": [ { "path": "/etc/os-release", "content": "ID=tiny\nVERSION_ID=1.0.0\n" },
             { "path": "/boot/vmlinuz", "content": "kernel" } ],
  "selinux": { "default": "system_u:object_r:os_t:s0" },
  "layout": { "boot_size": "1MiB", "root_size": "4MiB", "hash_size": "1MiB",
              "reserved_size": "1MiB", "private_size": "1MiB", "data_size": "8MiB" }
}
JSON

# directory order needs FUSE (disorderfs); say so when this machine cannot mount it
vary="+all,-user_group,-domain_host,-kernel"
if ! command -v disorderfs >/dev/null 2>&1 || ! mkdir -p "$TMP/fa" "$TMP/fb" ||
	! disorderfs -q "$TMP/fa" "$TMP/fb" >/dev/null 2>&1; then
	echo "note: disorderfs cannot mount here: the fileordering variation is left out"
	vary="$vary,-fileordering"
else
	fusermount -u "$TMP/fb" 2>/dev/null || fusermount3 -u "$TMP/fb" 2>/dev/null || umount "$TMP/fb"
fi

# an ASan build under faketime: libfaketime is preloaded before ASan's runtime
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS
cd "$S"
set +e
reprotest --verbosity 1 --store-dir "$TMP/store" --variations="$vary" \
	"$vf build . -o out" 'out/*' >"$TMP/rp.log" 2>&1
rc=$?
set -e
[ $rc = 0 ] || { tail -40 "$TMP/rp.log"; fail "reprotest found differences or failed (exit $rc)"; }
grep -q "Reproduction successful" "$TMP/rp.log" || { tail -20 "$TMP/rp.log"; fail "reprotest did not report success"; }
for v in "FAKETIME variation" "TIMEZONE variation" "LOCALE variation" "UMASK variation"; do
	grep -q "$v" "$TMP/rp.log" || fail "reprotest did not apply: $v"
done
case $vary in *-fileordering*) ;; *) grep -q "DISORDERFS variation" "$TMP/rp.log" || fail "no directory-order variation" ;; esac

# the control: a non-reproducible input is caught
set +e
VFORGE_TEST_UNREPRODUCIBLE=/etc/stamp reprotest --store-dir "$TMP/store2" --variations="$vary" \
	"$vf build . -o out" 'out/*' >"$TMP/rp2.log" 2>&1
rc=$?
set -e
[ $rc != 0 ] || fail "reprotest missed a deliberately non-reproducible build"
echo ok
