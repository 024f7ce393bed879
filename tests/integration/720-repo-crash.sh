#!/bin/sh
# Crash safety: the publisher is killed (SIGKILL, through the test-only hook
# VFORGE_TEST_CRASH_AT) at every point of a publish: after the target files,
# half-way through writing each metadata file, after each one. Each time the
# repository validates from the trusted root, holds the old or the new state
# (never a mix), and the next publish works.
. tests/integration/lib.sh
NOW=1800000000
cd "$TMP"
simple_root $NOW
KEYS="--key targets.pem --key snapshot.pem --key timestamp.pem"
printf 'one\n' >one
"$VFORGE" repo create repo --root root.json --key root.pem $KEYS --target one --now $NOW >/dev/null

ts_version() { sed -n 's/.*"version": \([0-9]*\).*/\1/p' repo/metadata/timestamp.json | tail -1; }
v=$(ts_version)
i=0
for point in after-target-files targets-partial after-targets snapshot-partial after-snapshot \
	timestamp-partial after-timestamp; do
	i=$((i + 1))
	"$TESTDATA" $i 5000 >new$i
	set +e
	VFORGE_TEST_CRASH_AT=$point "$VFORGE" repo add-targets repo new$i $KEYS --now $NOW >/dev/null 2>&1
	rc=$?
	set -e
	[ $rc = 137 ] || fail "$point: expected the publisher to be killed (137), got $rc"
	expect_exit 0 "$VFORGE" repo validate repo --root root.json --now $NOW
	nv=$(ts_version)
	if [ $point = after-timestamp ]; then
		[ "$nv" = $((v + 1)) ] || fail "$point: timestamp version $nv, expected $((v + 1))"
		grep -q "\"new$i\"" repo/metadata/$nv.targets.json || fail "$point: new$i not published"
	else
		[ "$nv" = "$v" ] || fail "$point: timestamp version $nv, expected the old $v"
	fi
	v=$nv
done
# leftovers of the killed publishers are cleaned by the next one, which works
expect_exit 0 "$VFORGE" repo add-targets repo new1 $KEYS --now $NOW
[ ! -e repo/.vforge-staging ] || fail "staging directory left behind"
ls -a repo/metadata | grep -q '\.tmp\.' && fail "temporary metadata files left behind"
expect_exit 0 "$VFORGE" repo validate repo --root root.json --now $NOW
echo ok
