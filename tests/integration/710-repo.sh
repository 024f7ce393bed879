#!/bin/sh
# vforge repo create/add-targets/refresh through the CLI: the layout, versions
# and expiry, refusal below a threshold (naming the keyids still needed),
# --dir, bad target names, the lock, nothing-changed runs, a timestamp key
# rotation with --root, determinism with --now, and every state validating.
. tests/integration/lib.sh
NOW=1800000000
cd "$TMP"
for k in root1 root2 targets1 targets2 snapshot timestamp timestamp2; do
	"$VFORGE" key generate --type ed25519 -o $k.pem >/dev/null
done
"$VFORGE" root init root.json --now $NOW >/dev/null
"$VFORGE" root add-key root.json root1.pem.pub --role root >/dev/null
"$VFORGE" root add-key root.json root2.pem.pub --role root >/dev/null
"$VFORGE" root add-key root.json targets1.pem.pub --role targets >/dev/null
"$VFORGE" root add-key root.json targets2.pem.pub --role targets >/dev/null
"$VFORGE" root add-key root.json snapshot.pem.pub --role snapshot >/dev/null
"$VFORGE" root add-key root.json timestamp.pem.pub --role timestamp >/dev/null
"$VFORGE" root set-threshold root.json targets 2 >/dev/null
"$VFORGE" root sign root.json --key root1.pem >/dev/null
ALL="--key root1.pem --key targets1.pem --key targets2.pem --key snapshot.pem --key timestamp.pem"
validate() { expect_exit 0 "$VFORGE" repo validate "$1" --root root.json --now "${2:-$NOW}"; }

mkdir -p in/sub
printf 'hello\n' >in/a.txt
: >in/empty
"$TESTDATA" 7 100000 >in/sub/blob.bin

# create: version 1 of everything, targets at their sha256 names
expect_exit 0 "$VFORGE" repo create repo --root root.json $ALL --now $NOW \
	--target in/a.txt --target in/sub/blob.bin=dir/blob.bin --target in/empty
expect_out "targets    version 1"
expect_out "3 targets"
ls repo/metadata | tr '\n' ' ' | grep -qx '1.root.json 1.snapshot.json 1.targets.json timestamp.json ' ||
	fail "metadata: $(ls repo/metadata)"
sum=$(sha256sum in/sub/blob.bin | cut -d' ' -f1)
cmp in/sub/blob.bin "repo/targets/dir/$sum.blob.bin" || fail "dir/blob.bin not at its consistent name"
cmp root.json repo/metadata/1.root.json || fail "1.root.json is not the given root"
grep -q '"expires": "2027-04-15T08:00:00Z"' repo/metadata/1.targets.json || fail "targets expiry"
grep -q '"expires": "2027-01-22T08:00:00Z"' repo/metadata/timestamp.json || fail "timestamp expiry"
[ "$(stat -c %a repo/metadata/timestamp.json)" = 644 ] || fail "timestamp.json mode"
validate repo

# a second create is refused; so is a root below its threshold
expect_exit 1 "$VFORGE" repo create repo --root root.json $ALL --now $NOW
expect_err "already holds a repository"
cp root.json unsigned.json
"$VFORGE" root set-threshold unsigned.json root 2 >/dev/null 2>&1
expect_exit 3 "$VFORGE" repo create repo2 --root unsigned.json $ALL --now $NOW
[ ! -e repo2/metadata ] || fail "repo2 was written"

# one targets key short: refused before anything is written, naming the missing keyid
before=$(ls -l repo/metadata)
k2=$("$VFORGE" key id targets2.pem.pub)
expect_exit 1 "$VFORGE" repo add-targets repo in/a.txt=again.txt --key targets1.pem \
	--key snapshot.pem --key timestamp.pem --now $NOW
expect_err "targets: threshold 2, 1 authorised key given; still needed: 1 more of: $k2"
[ "$(ls -l repo/metadata)" = "$before" ] || fail "a refused publish changed metadata/"

# add and remove: targets, snapshot and timestamp move to version 2
expect_exit 0 "$VFORGE" repo add-targets repo in/a.txt=again.txt --remove empty \
	$ALL --now $((NOW + 60))
expect_out "targets    version 2"
expect_exit 1 "$VFORGE" repo add-targets repo --remove nope $ALL --now $NOW
expect_err "target 'nope' is not in targets.json"
"$VFORGE" repo add-targets repo --remove a.txt $ALL --now $((NOW + 60)) >"$TMP/out" ||
	fail "remove a.txt"
expect_out "targets    version 3"
grep -q '"empty"' repo/metadata/2.targets.json && fail "removed target still listed"
grep -q '"a.txt"' repo/metadata/3.targets.json && fail "removed target still listed"
grep -q '"again.txt"' repo/metadata/3.targets.json || fail "again.txt missing"
[ -e repo/metadata/1.targets.json ] || fail "old targets versions must stay"
validate repo

# the same content again changes nothing
expect_exit 0 "$VFORGE" repo add-targets repo in/a.txt=again.txt $ALL --now $NOW
expect_out "nothing changed"

# --dir: every regular file, named by its relative path
expect_exit 0 "$VFORGE" repo add-targets repo --dir in $ALL --now $NOW --json
expect_out '"targets": 5'
grep -q '"sub/blob.bin"' repo/metadata/4.targets.json || fail "--dir name"
ln -s a.txt in/link
expect_exit 1 "$VFORGE" repo add-targets repo --dir in $ALL --now $NOW
expect_err "in/link' is not a regular file"
rm in/link

# bad names
for n in ../x /abs a//b 'a\b' dir/./x; do
	expect_exit 1 "$VFORGE" repo add-targets repo "in/a.txt=$n" $ALL --now $NOW
	expect_err "target name"
done

# refresh: timestamp only by default, with the timestamp key alone
expect_exit 0 "$VFORGE" repo refresh repo --key timestamp.pem --now $((NOW + 86400))
expect_out "timestamp  version 5"
expect_out "snapshot   version 4      expires"
expect_exit 0 "$VFORGE" repo refresh repo --key snapshot.pem --key timestamp.pem --role snapshot \
	--now $((NOW + 86400))
expect_out "snapshot   version 5"
expect_exit 2 "$VFORGE" repo refresh repo --key timestamp.pem --role root
expect_exit 2 "$VFORGE" repo refresh repo --key timestamp.pem --expires timestamp=yesterday
expect_exit 2 "$VFORGE" repo refresh repo --key timestamp.pem --expires timestamp=2020-01-01T00:00:00Z --now $NOW
expect_err "not after now"
expect_exit 0 "$VFORGE" repo refresh repo --key timestamp.pem --expires timestamp=2d --now $NOW
grep -q '"expires": "2027-01-17T08:00:00Z"' repo/metadata/timestamp.json || fail "--expires 2d"
validate repo

# the lock: a second publisher fails at once with --lock-wait 0, naming the holder
exec 9>repo/.vforge.lock
flock 9
expect_exit 1 "$VFORGE" repo refresh repo --key timestamp.pem --lock-wait 0 --now $NOW
expect_err "is locked by another publisher"
exec 9>&-

# rotate the timestamp key: root 2 signed by the root keys, published with --root
cp repo/metadata/1.root.json root2.json
old=$("$VFORGE" key id timestamp.pem.pub)
"$VFORGE" root remove-key root2.json "$old" >/dev/null
"$VFORGE" root add-key root2.json timestamp2.pem.pub --role timestamp >/dev/null
"$VFORGE" root bump-version root2.json >/dev/null
"$VFORGE" root sign root2.json --key root1.pem >/dev/null
expect_exit 1 "$VFORGE" repo refresh repo --root root2.json --key timestamp.pem --now $NOW
expect_err "still needed: 1 more of: $("$VFORGE" key id timestamp2.pem.pub)"
expect_exit 0 "$VFORGE" repo refresh repo --root root2.json --key timestamp2.pem --now $NOW
expect_out "root       version 2"
[ -e repo/metadata/2.root.json ] || fail "2.root.json missing"
validate repo
expect_exit 1 "$VFORGE" repo refresh repo --root root2.json --key timestamp2.pem --now $NOW
expect_err "new root has version 2, expected 3"

# determinism: the same inputs, keys and --now give the same bytes
for d in d1 d2; do
	"$VFORGE" repo create $d --root root.json $ALL --now $NOW --dir in >/dev/null
	"$VFORGE" repo add-targets $d in/a.txt=x/y $ALL --now $NOW >/dev/null
done
for f in 1.root.json 2.targets.json 2.snapshot.json timestamp.json; do
	cmp d1/metadata/$f d2/metadata/$f || fail "$f differs between two identical runs"
done
(cd d1 && find targets -type f | sort | xargs sha256sum) >t1
(cd d2 && find targets -type f | sort | xargs sha256sum) >t2
cmp t1 t2 || fail "targets differ"

# usage errors
expect_exit 2 "$VFORGE" repo create r3 --key x
expect_err "--root <root.json> is required"
expect_exit 2 "$VFORGE" repo add-targets repo --key timestamp.pem
expect_err "nothing to do"
expect_exit 2 "$VFORGE" repo frobnicate repo
expect_exit 1 "$VFORGE" repo add-targets nowhere in/a.txt --key timestamp.pem
expect_err "no metadata/ directory"
echo ok
