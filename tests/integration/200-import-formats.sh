#!/bin/sh
# One package in every archive format and compression vforge reads imports as
# the same tree; archives written by GNU tar (an independent writer) import
# as exactly what stat(1) and sha256sum(1) say about the source directory,
# sparse files included.
. tests/integration/lib.sh
set -eu

MK="$VF_BUILD/tools/vf-mkarchive"
[ -x "$MK" ] || fail "missing $MK (make integration)"
need tar
need sha256sum
STORE=$TMP/store
mkdir "$STORE"

# import ARCHIVE... : the tree as vf-mkarchive lists it, into $TMP/out
import() {
	_args=""
	for _a in "$@"; do _args="$_args p=$_a"; done
	# shellcheck disable=SC2086
	"$MK" import "$STORE" $_args >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; fail "import failed: $*"; }
}

# --- vf-mkarchive: every format and filter -----------------------------------
cat >"$TMP/spec" <<'EOF'
dir ./ 0755 0 0 100
dir ./usr 0755 0 0 100
dir ./usr/bin 0755 0 0 100
file ./usr/bin/tool 4755 0 0 1700000000 #!/bin/tool\n
file ./usr/bin/other 0711 0 2 1700000001 other\n
hardlink ./usr/bin/tool2 ./usr/bin/tool
symlink ./usr/lib64 lib
symlink ./etc/alternatives/x /usr/bin/other\s(absolute,\skept)
dir ./tmp 1777 0 0 5
file ./etc/shadow 0640 0 42 1600000000 root:*:1::::::\n
file ./home/u/.profile 0644 1000 1000 1 PATH=/bin\n
file ./empty 0644 0 0 0
fifo ./run/initctl 0600 0 0 7
EOF
ref=""
for fmt in pax tar gnutar cpio odc; do
	for filter in none gzip xz zstd bzip2 lzma; do
		"$MK" "$TMP/pkg.$fmt.$filter" "$fmt" "$filter" <"$TMP/spec"
		import "$TMP/pkg.$fmt.$filter"
		if [ -z "$ref" ]; then
			ref=$TMP/ref
			cp "$TMP/out" "$ref"
		else
			diff -u "$ref" "$TMP/out" >&2 || fail "$fmt/$filter imports differently from pax/none"
		fi
	done
done
# spot checks on the reference listing
grep -qx '/usr/bin/tool file 4755 0:0 1700000000 size=12 sha256=[0-9a-f]* origin=p' "$ref" ||
	fail "setuid file wrong: $(grep '/usr/bin/tool ' "$ref")"
grep -qx '/usr/bin/tool2 hardlink 4755 0:0 1700000000 -> usr/bin/tool origin=p' "$ref" || fail "hardlink wrong"
grep -qx '/etc/alternatives/x symlink 0777 0:0 0 -> /usr/bin/other\\x20(absolute,\\x20kept) origin=p' "$ref" ||
	fail "symlink target not kept as given: $(grep alternatives/x "$ref")"
grep -qx '/tmp dir 1777 0:0 5 origin=p' "$ref" || fail "sticky directory wrong"
grep -qx '/etc dir 0755 0:0 0 origin=p' "$ref" || fail "implicit parent wrong"
grep -qx '/run/initctl fifo 0600 0:0 7 origin=p' "$ref" || fail "fifo wrong"
grep -qx '/ dir 0755 0:0 0 origin=manifest' "$ref" || fail "the archive's ./ changed the root"
grep -q "sha256=$(printf '#!/bin/tool\n' | sha256sum | cut -d' ' -f1) " "$ref" || fail "content digest wrong"
# one store file per distinct content: tool, other, shadow, .profile, empty
[ "$(ls "$STORE" | wc -l)" = 5 ] || fail "store holds $(ls "$STORE" | wc -l) files, expected 5"
! ls -A "$STORE" | grep -v '^[0-9a-f]\{64\}$' || fail "stray files in the store"

# --- GNU tar: an independent writer ------------------------------------------
# expected SRC: what the tree must say about directory SRC, in vf-mkarchive's format
expected() {
	echo "/ dir 0755 0:0 0 origin=manifest"
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort) | while IFS= read -r p; do
		f="$1/$p"
		mode=$(printf '%04o' "0$(stat -c %a "$f")")
		own=$(stat -c %u:%g "$f")
		case $(stat -c %F "$f") in
		directory) echo "/${p#./} dir $mode $own $(stat -c %Y "$f") origin=p" ;;
		"symbolic link") echo "/${p#./} symlink $mode $own $(stat -c %Y "$f") -> $(readlink "$f") origin=p" ;;
		fifo) echo "/${p#./} fifo $mode $own $(stat -c %Y "$f") origin=p" ;;
		*) echo "/${p#./} file $mode $own $(stat -c %Y "$f") size=$(stat -c %s "$f")" \
			"sha256=$(sha256sum <"$f" | cut -d' ' -f1) origin=p" ;;
		esac
	done
}
SRC=$TMP/src
mkdir -p "$SRC/usr/bin" "$SRC/etc/ssl" "$SRC/var/empty" "$SRC/a-b" "$SRC/a/b"
printf 'binary\n' >"$SRC/usr/bin/tool"
gen 7 300000 "$SRC/usr/bin/blob"
printf 'conf\n' >"$SRC/etc/ssl/openssl.cnf"
printf 'x\n' >"$SRC/a-b/x"
printf 'y\n' >"$SRC/a/b/y"
printf 'z\n' >"$SRC/a0"
ln -s ../usr/bin/tool "$SRC/etc/tool-link"
mkfifo "$SRC/var/fifo"
chmod 4755 "$SRC/usr/bin/tool"
chmod 0700 "$SRC/var/empty"
chmod 1777 "$SRC/a"
chown 1000:1001 "$SRC/etc/ssl/openssl.cnf" 2>/dev/null || true
# a sparse file: 8 MiB with two small data regions and a trailing hole
printf 'head' | dd of="$SRC/var/sparse" bs=1 seek=4096 conv=notrunc status=none
printf 'tail' | dd of="$SRC/var/sparse" bs=1 seek=$((5 * 1048576)) conv=notrunc status=none
truncate -s 8M "$SRC/var/sparse"
find "$SRC" -exec touch -h -d @1600000000 {} +
expected "$SRC" >"$TMP/expected"
for opt in "--format=gnu" "--format=gnu -z" "--format=pax -J" "--format=pax --zstd" "--format=ustar -j" \
	"--format=gnu --sparse" "--format=pax --sparse -z"; do
	# shellcheck disable=SC2086
	tar -C "$SRC" $opt -cf "$TMP/gnu.tar" . 2>"$TMP/tar.err" || { cat "$TMP/tar.err"; fail "tar $opt"; }
	import "$TMP/gnu.tar"
	diff -u "$TMP/expected" "$TMP/out" >&2 || fail "GNU tar $opt: the tree differs from the source"
done
echo "all formats and filters import the same tree"
