#!/bin/sh
# vforge fetch, the TUF client, against repositories served by nginx on
# 127.0.0.1 (and file:// URLs):
#  - first use with --trusted-root; the trusted state is exactly root.json,
#    timestamp.json, snapshot.json, targets.json (+ the delegated roles
#    visited), each byte for byte the repository's file;
#  - targets downloaded equal the originals (nested, empty, a name with a
#    space, 1 MB); a second run finds them "already present" and downloads
#    nothing (nginx's log); a refresh after add-targets; --json;
#  - a named delegation and succinct hash bins;
#  - attacks refused with exit 3 and the trusted state unchanged (sha256 of
#    every file): a tampered target (no output file), a target longer than
#    its length, a tampered timestamp, a rollback to an older repository, an
#    expired timestamp (freeze; SOURCE_DATE_EPOCH cannot stop the clock);
#  - exit 1 for a missing target URL or metadata; exit 2 for misuse;
#  - interop: the tough and python-tuf repositories of ../shared/vectors/tuf.
. tests/integration/lib.sh
need_nginx
NOW=1800000000 # 2027-01-15T08:00:00Z: repositories are signed and checked with this clock
VEC=../shared/vectors/tuf
[ -d "$VEC" ] || fail "missing $VEC (the shared vectors live in ../shared beside the checkout)"

K=$TMP/keys
SRC=$TMP/src
WWW=$TMP/www
C=$TMP/c
mkdir -p "$K" "$SRC/dir/sub" "$SRC/apps" "$WWW" "$C"
start_nginx "$WWW"
BASE=http://127.0.0.1:$NGINX_PORT

(cd "$K" && simple_root "$NOW") 2>/dev/null || fail "simple_root"
ROOT=$K/root.json
for k in apps bins; do "$VFORGE" key generate --type ed25519 -o "$K/$k.pem" >/dev/null; done
ALL="--key $K/targets.pem --key $K/snapshot.pem --key $K/timestamp.pem"
SNAPTS="--key $K/snapshot.pem --key $K/timestamp.pem"

printf 'hello\n' >"$SRC/a.txt"
: >"$SRC/empty"
gen 1 4097 "$SRC/dir/sub/file.bin"
gen 2 1048613 "$SRC/big.bin"
printf 'a name with a space\n' >"$SRC/my file.txt"
gen 3 30001 "$SRC/apps/one.bin"

# newest REPO ROLE: the repository's newest N.ROLE.json
newest() {
	_n=$(cd "$1/metadata" && ls | sed -n "s/^\([0-9]*\)\.$2\.json\$/\1/p" | sort -n | tail -1)
	[ -n "$_n" ] || fail "no N.$2.json in $1/metadata"
	echo "$1/metadata/$_n.$2.json"
}
# same_state DIR REPO ROLE...: DIR holds exactly root, timestamp, snapshot,
# targets and ROLE... .json, each the repository's current file byte for byte
same_state() {
	_dir=$1 _repo=$2; shift 2
	_want=$(printf '%s.json\n' root timestamp snapshot targets "$@" | LC_ALL=C sort | paste -sd' ')
	_got=$(ls -A "$_dir" | LC_ALL=C sort | paste -sd' ')
	[ "$_got" = "$_want" ] || fail "$_dir holds '$_got', expected '$_want'"
	cmp "$_dir/timestamp.json" "$_repo/metadata/timestamp.json" || fail "$_dir/timestamp.json differs"
	for _r in root snapshot targets "$@"; do
		cmp "$_dir/$_r.json" "$(newest "$_repo" "$_r")" || fail "$_dir/$_r.json differs from $(newest "$_repo" "$_r")"
	done
}
# sums DIR: sha256 of every file in DIR (hidden ones too)
sums() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs -r sha256sum); }
# fetch DIR REPO ARGS...: vforge fetch with DIR as the trusted state, REPO's URLs, the clock at NOW
fetch() {
	_d=$1 _r=$2; shift 2
	"$VFORGE" fetch --metadata-dir "$_d" --metadata-url "$BASE/$_r/metadata" \
		--targets-url "$BASE/$_r/targets" --now "$NOW" "$@"
}
gets() { grep -c "GET $1 " "$NGINX_DIR/access.log" || true; }

# ====================================================================================
# 1. first use, download, already present, refresh
# ====================================================================================
R=$WWW/repo
expect_exit 0 "$VFORGE" repo create "$R" --root "$ROOT" $ALL --now "$NOW" \
	--target "$SRC/a.txt=a.txt" --target "$SRC/empty=empty" --target "$SRC/dir/sub/file.bin=dir/sub/file.bin" \
	--target "$SRC/big.bin=big.bin" --target "$SRC/my file.txt=my file.txt"
cp -a "$R" "$WWW/repo-v1" # for the rollback below

# no trusted root yet: refused, nothing written
expect_exit 1 fetch "$C/main" repo
expect_err "on first use, give the root to trust with --trusted-root"
[ ! -e "$C/main" ] || fail "a refused first use created $C/main"

expect_exit 0 fetch "$C/main" repo --trusted-root "$ROOT"
expect_out "root       version 1 (new)"
expect_out "timestamp  version 1 (new)"
expect_out "snapshot   version 1 (new)"
expect_out "targets    version 1 (new)"
same_state "$C/main" "$R"
cmp "$C/main/root.json" "$ROOT" || fail "root.json is not the trusted root"

expect_exit 0 fetch "$C/main" repo -o "$TMP/dl" --target a.txt --target dir/sub/file.bin \
	--target empty --target "my file.txt" --target big.bin
expect_out "root       version 1 (unchanged)"
expect_out "timestamp  version 1 (unchanged)"
expect_out "target a.txt: downloaded, 6 bytes, '$TMP/dl/a.txt' (role targets)"
expect_out "target dir/sub/file.bin: downloaded, 4097 bytes, '$TMP/dl/dir/sub/file.bin' (role targets)"
expect_out "target empty: downloaded, 0 bytes"
expect_out "target big.bin: downloaded, 1048613 bytes"
for n in a.txt dir/sub/file.bin empty "my file.txt" big.bin; do
	cmp "$SRC/$n" "$TMP/dl/$n" || fail "downloaded $n differs from the original"
done
[ "$(ls -A "$TMP/dl" | paste -sd' ')" = "a.txt big.bin dir empty my file.txt" ] ||
	fail "output directory holds: $(ls -A "$TMP/dl")"
big_sha=$(sha256sum "$SRC/big.bin" | cut -d' ' -f1)
sp_sha=$(sha256sum "$SRC/my file.txt" | cut -d' ' -f1)
[ "$(gets "/repo/targets/$big_sha.big.bin")" = 1 ] || fail "big.bin was not fetched once by its consistent name"
[ "$(gets "/repo/targets/$sp_sha.my%20file.txt")" = 1 ] || fail "'my file.txt' was not fetched percent-encoded"
same_state "$C/main" "$R"

# again: nothing downloaded
expect_exit 0 fetch "$C/main" repo -o "$TMP/dl" --target big.bin --target a.txt --json
expect_out '"status": "present"'
grep -q '"status": "downloaded"' "$TMP/out" && fail "a present target was downloaded again"
expect_out '"name": "big.bin"'
expect_out '"length": 1048613'
expect_out '"updated": false'
[ "$(gets "/repo/targets/$big_sha.big.bin")" = 1 ] || fail "big.bin was downloaded again"
# a damaged local copy is replaced
flip_byte "$TMP/dl/a.txt" 0
expect_exit 0 fetch "$C/main" repo -o "$TMP/dl" --target a.txt
expect_out "target a.txt: downloaded, 6 bytes"
cmp "$SRC/a.txt" "$TMP/dl/a.txt" || fail "a damaged a.txt was not replaced"

# refresh after add-targets: timestamp, snapshot and targets move to version 2
printf 'added later\n' >"$SRC/new.txt"
expect_exit 0 "$VFORGE" repo add-targets "$R" $ALL --now $((NOW + 60)) "$SRC/new.txt=new.txt" --remove empty
expect_exit 0 fetch "$C/main" repo -o "$TMP/dl" --target new.txt --json
expect_out '"old_version": 1'
expect_out '"new_version": 2'
expect_out '"updated": true'
expect_out '"status": "downloaded"'
cmp "$SRC/new.txt" "$TMP/dl/new.txt" || fail "new.txt differs"
same_state "$C/main" "$R"
expect_exit 0 fetch "$C/main" repo
expect_out "targets    version 2 (unchanged)"
expect_exit 1 fetch "$C/main" repo -o "$TMP/dl" --target empty
expect_err "'empty'"

# file:// URLs, a fresh client
expect_exit 0 "$VFORGE" fetch --metadata-dir "$C/file" --metadata-url "file://$R/metadata" \
	--targets-url "file://$R/targets/" --trusted-root "$ROOT" --now "$NOW" -o "$TMP/out-file" \
	--target "my file.txt" --target dir/sub/file.bin
cmp "$SRC/my file.txt" "$TMP/out-file/my file.txt" || fail "file://: 'my file.txt' differs"
cmp "$SRC/dir/sub/file.bin" "$TMP/out-file/dir/sub/file.bin" || fail "file://: dir/sub/file.bin differs"
same_state "$C/file" "$R"

# ====================================================================================
# 2. a named delegation and succinct hash bins
# ====================================================================================
expect_exit 0 "$VFORGE" delegation add "$R" apps --paths 'apps/*' --key "$K/apps.pem.pub" --now $((NOW + 120)) \
	--signing-key "$K/targets.pem" --signing-key "$K/apps.pem" --signing-key "$K/snapshot.pem" \
	--signing-key "$K/timestamp.pem"
expect_exit 0 "$VFORGE" repo add-targets "$R" --key "$K/apps.pem" $SNAPTS --role apps --now $((NOW + 120)) \
	"$SRC/apps/one.bin=apps/one.bin"
expect_exit 0 fetch "$C/main" repo -o "$TMP/dl" --target apps/one.bin --target a.txt
expect_out "target apps/one.bin: downloaded, 30001 bytes, '$TMP/dl/apps/one.bin' (role apps)"
expect_out "target a.txt: already present"
cmp "$SRC/apps/one.bin" "$TMP/dl/apps/one.bin" || fail "apps/one.bin differs"
same_state "$C/main" "$R" apps
expect_exit 1 fetch "$C/main" repo -o "$TMP/dl" --target apps/none.bin
expect_err "apps/none.bin"

B=$WWW/bins
expect_exit 0 "$VFORGE" repo create "$B" --root "$ROOT" $ALL --now "$NOW" \
	--target "$SRC/a.txt=a.txt" --target "$SRC/big.bin=big.bin"
expect_exit 0 "$VFORGE" delegation add "$B" bins --bins 16 --key "$K/bins.pem.pub" --now "$NOW" \
	--signing-key "$K/targets.pem" --signing-key "$K/bins.pem" --signing-key "$K/snapshot.pem" \
	--signing-key "$K/timestamp.pem"
expect_exit 0 fetch "$C/bins" bins --trusted-root "$ROOT" -o "$TMP/out-bins" --target big.bin --json
grep -A3 '"new_version": 1' "$TMP/out" | grep -q '"old_version": null' || fail "--json: a first-use role's old_version is not null"
cmp "$SRC/big.bin" "$TMP/out-bins/big.bin" || fail "binned big.bin differs"
bin=$(sed -n 's/^ *"role": "\(bins-[0-9a-f]\)",*$/\1/p' "$TMP/out")
[ -n "$bin" ] || { cat "$TMP/out"; fail "big.bin was not found in a bin"; }
same_state "$C/bins" "$B" "$bin"

# ====================================================================================
# 3. attacks: exit 3, trusted state unchanged
# ====================================================================================
# a tampered target (same length, one byte changed): no output file, nothing left behind
X=$WWW/bad
cp -a "$R" "$X"
flip_byte "$X/targets/$big_sha.big.bin" 524288
cp -a "$C/main" "$C/bad"
rm -f "$TMP/dl/big.bin"
before=$(sums "$C/bad")
expect_exit 3 fetch "$C/bad" bad -o "$TMP/dl" --target big.bin
expect_err "target 'big.bin': sha256 differs from its metadata's: expected $big_sha, got "
[ ! -e "$TMP/dl/big.bin" ] || fail "a tampered big.bin was written"
ls -A "$TMP/dl" | grep -q '^\.' && fail "temporary files left in $TMP/dl: $(ls -A "$TMP/dl")"
[ "$(sums "$C/bad")" = "$before" ] || fail "a refused target changed the trusted state"
# a target longer than its length (endless data)
cp "$SRC/big.bin" "$X/targets/$big_sha.big.bin"
printf 'more' >>"$X/targets/$big_sha.big.bin"
expect_exit 3 fetch "$C/bad" bad -o "$TMP/dl" --target big.bin
expect_err "more than its length of 1048613 bytes (endless data attack)"
[ ! -e "$TMP/dl/big.bin" ] || fail "an overlong big.bin was written"

# a tampered timestamp (one byte of its expiry): signature check fails
cp "$R/metadata/timestamp.json" "$X/metadata/timestamp.json"
grep -q '"expires": "2027' "$X/metadata/timestamp.json" || fail "timestamp.json expiry not in 2027"
sed -i 's/"expires": "2027/"expires": "2028/' "$X/metadata/timestamp.json"
before=$(sums "$C/bad")
expect_exit 3 fetch "$C/bad" bad
expect_err "timestamp.json: signatures (keys of root v1): role timestamp: threshold not met"
[ "$(sums "$C/bad")" = "$before" ] || fail "a tampered timestamp changed the trusted state"
# the same on first use: nothing written at all
expect_exit 3 fetch "$C/bad-first" bad --trusted-root "$ROOT"
[ -z "$(ls -A "$C/bad-first")" ] || fail "a failed first use left: $(ls -A "$C/bad-first")"

# rollback: the repository as it was before add-targets (timestamp version 1)
before=$(sums "$C/main")
expect_exit 3 fetch "$C/main" repo-v1
expect_err "timestamp.json: version 1 is lower than the trusted version 4 (rollback attack)"
[ "$(sums "$C/main")" = "$before" ] || fail "a rollback changed the trusted state"

# freeze: a timestamp signed two days ago for one hour, checked with the real clock
E=$WWW/expired
then=$(( $(date +%s) - 2 * 86400 ))
expect_exit 0 "$VFORGE" repo create "$E" --root "$ROOT" $ALL --now "$then" \
	--expires timestamp=1h --expires snapshot=1y --expires targets=1y --target "$SRC/a.txt=a.txt"
expect_exit 3 "$VFORGE" fetch --metadata-dir "$C/expired" --metadata-url "$BASE/expired/metadata" --trusted-root "$ROOT"
expect_err "timestamp.json: expired at $(date -u -d "@$((then + 3600))" +%Y-%m-%dT%H:%M:%SZ)"
expect_err "freeze attack"
[ -z "$(ls -A "$C/expired")" ] || fail "an expired timestamp was trusted: $(ls -A "$C/expired")"
# the environment cannot stop a client's clock
SOURCE_DATE_EPOCH=$then expect_exit 3 "$VFORGE" fetch --metadata-dir "$C/expired" \
	--metadata-url "$BASE/expired/metadata" --trusted-root "$ROOT"
expect_err "freeze attack"
# control: at the time it was signed, it verifies; RFC 3339 --now works too
expect_exit 0 "$VFORGE" fetch --metadata-dir "$C/expired" --metadata-url "$BASE/expired/metadata" \
	--trusted-root "$ROOT" --now "$then"
expect_exit 0 "$VFORGE" fetch --metadata-dir "$C/expired" --metadata-url "$BASE/expired/metadata" \
	--now "$(date -u -d "@$then" +%Y-%m-%dT%H:%M:%SZ)"
expect_exit 3 "$VFORGE" fetch --metadata-dir "$C/expired" --metadata-url "$BASE/expired/metadata" \
	--now "$((then + 7200))"

# ====================================================================================
# 4. failures other than verification: exit 1
# ====================================================================================
rm "$TMP/dl/a.txt"
expect_exit 1 "$VFORGE" fetch --metadata-dir "$C/main" --metadata-url "$BASE/repo/metadata" --now "$NOW" \
	--targets-url "$BASE/nothing-here" -o "$TMP/dl" --target new.txt --target a.txt
[ ! -e "$TMP/dl/a.txt" ] || fail "a.txt written after a 404"
expect_err "HTTP 404"
expect_err "$BASE/nothing-here/"
expect_exit 1 "$VFORGE" fetch --metadata-dir "$C/none" --metadata-url "$BASE/nothing-here" \
	--trusted-root "$ROOT" --now "$NOW"
expect_err "timestamp.json"
expect_exit 1 "$VFORGE" fetch --metadata-dir "$C/main" --metadata-url "http://127.0.0.1:1/metadata" --now "$NOW"
expect_err "'http://127.0.0.1:1/metadata/2.root.json'"

# ====================================================================================
# 5. interop: repositories made by tough and python-tuf
# ====================================================================================
VNOW=1767225600 # 2026-01-01: the vectors expire in 2029..2999
cp -r "$VEC/tough/consistent-snapshots" "$WWW/tough"
cp -r "$VEC/python-tuf/repository" "$WWW/python-tuf"
chmod -R u+w "$WWW/tough" "$WWW/python-tuf"
expect_exit 0 "$VFORGE" fetch --metadata-dir "$C/tough" --metadata-url "$BASE/tough/metadata" \
	--targets-url "$BASE/tough/targets" --trusted-root "$WWW/tough/metadata/1.root.json" --now "$VNOW" \
	-o "$TMP/out-tough" --target data1.txt --target data2.txt
for n in data1.txt data2.txt; do
	cmp "$TMP/out-tough/$n" "$WWW/tough/targets/"*".$n" || fail "tough: $n differs"
done
same_state "$C/tough" "$WWW/tough"
expect_exit 0 "$VFORGE" fetch --metadata-dir "$C/python-tuf" --metadata-url "$BASE/python-tuf/metadata" \
	--targets-url "$BASE/python-tuf/targets" --trusted-root "$WWW/python-tuf/metadata/root.json" \
	--now "$VNOW" -o "$TMP/out-pt" --target file1.txt --target file3.txt
expect_out "target file3.txt: downloaded, 28 bytes, '$TMP/out-pt/file3.txt' (role role1)"
for n in file1.txt file3.txt; do
	cmp "$TMP/out-pt/$n" "$WWW/python-tuf/targets/$n" || fail "python-tuf: $n differs"
done
# python-tuf's repository is not consistent: unversioned names throughout
for n in timestamp snapshot targets role1 root; do
	cmp "$C/python-tuf/$n.json" "$WWW/python-tuf/metadata/$n.json" || fail "python-tuf: $n.json differs"
done
[ "$(ls -A "$C/python-tuf" | paste -sd' ')" = "role1.json root.json snapshot.json targets.json timestamp.json" ] ||
	fail "python-tuf trusted state: $(ls -A "$C/python-tuf")"
# the vectors expired long after 2026; with a clock past 2030 python-tuf's has expired
expect_exit 3 "$VFORGE" fetch --metadata-dir "$C/python-tuf" --metadata-url "$BASE/python-tuf/metadata" \
	--now 1924992000
expect_err "root.json: expired at 2030-01-01T00:00:00Z (now 2031-01-01T00:00:00Z): freeze attack"

# ====================================================================================
# 6. usage
# ====================================================================================
expect_exit 0 "$VFORGE" fetch --help
expect_out "--trusted-root"
U="--metadata-dir $C/main --metadata-url $BASE/repo/metadata"
expect_exit 2 "$VFORGE" fetch
expect_err "--metadata-dir is required"
expect_exit 2 "$VFORGE" fetch --metadata-dir "$C/main"
expect_err "--metadata-url is required"
expect_exit 2 "$VFORGE" fetch $U --target a.txt -o "$TMP/dl"
expect_err "--target needs --targets-url"
expect_exit 2 "$VFORGE" fetch $U --targets-url "$BASE/repo/targets" --target a.txt
expect_err "--target needs -o DIR"
expect_exit 2 "$VFORGE" fetch $U -o "$TMP/dl"
expect_exit 2 "$VFORGE" fetch $U --bogus
expect_err "unknown option '--bogus'"
expect_exit 2 "$VFORGE" fetch $U extra
expect_err "unexpected operand 'extra'"
expect_exit 2 "$VFORGE" fetch $U --now yesterday
expect_err "--now"
expect_exit 2 "$VFORGE" fetch $U --max-root-rotations 0
expect_exit 2 "$VFORGE" fetch $U --timeout 0
expect_exit 2 "$VFORGE" fetch $U --metadata-url
expect_err "needs a value"
expect_exit 2 "$VFORGE" fetch --metadata-dir "$C/main" --metadata-url "ftp://127.0.0.1/metadata"
expect_err "--metadata-url: expected an http://, https:// or file:// URL, got 'ftp://127.0.0.1/metadata'"
expect_exit 2 "$VFORGE" fetch $U --targets-url /srv/targets
expect_err "--targets-url: expected"
echo "800-fetch: ok"
