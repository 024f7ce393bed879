#!/bin/sh
# A delegation staged (delegation add --stage): targets and the new role are
# written unsigned; the targets key holder and the role's key holder sign
# offline; publish-staged with the online keys publishes both; validate.
. tests/integration/lib.sh
NOW=1800000000
cd "$TMP"
simple_root $NOW
"$VFORGE" key generate --type ed25519 -o apps.pem >/dev/null
printf 'x' >x
"$VFORGE" repo create repo --root root.json --key root.pem --key targets.pem --key snapshot.pem \
	--key timestamp.pem --target x --now $NOW >/dev/null
expect_exit 2 "$VFORGE" delegation add repo apps --paths 'apps/*' --key apps.pem.pub --stage \
	--signing-key targets.pem
expect_err "takes no --signing-key"
expect_exit 0 "$VFORGE" delegation add repo apps --paths 'apps/*' --key apps.pem.pub --stage --now $NOW
expect_out "staged staged/metadata/2.targets.json"
expect_out "staged staged/metadata/1.apps.json"
[ ! -e repo/metadata/1.apps.json ] || fail "--stage published apps"
expect_exit 1 "$VFORGE" repo publish-staged repo --key snapshot.pem --key timestamp.pem --now $NOW
expect_err "targets: threshold 1, 0 authorised signatures"
expect_err "apps: threshold 1, 0 authorised signatures"
cp repo/staged/metadata/2.targets.json t.json
expect_exit 0 "$VFORGE" metadata sign t.json --key targets.pem --root root.json
cp repo/staged/metadata/1.apps.json a.json
expect_exit 0 "$VFORGE" metadata sign a.json --key apps.pem --delegator t.json --role apps
cp t.json repo/staged/metadata/2.targets.json
cp a.json repo/staged/metadata/1.apps.json
expect_exit 0 "$VFORGE" repo publish-staged repo --key snapshot.pem --key timestamp.pem --now $NOW
cmp a.json repo/metadata/1.apps.json || fail "apps was not published as signed offline"
[ ! -e repo/staged ] || fail "the stage is still there"
expect_exit 0 "$VFORGE" repo add-targets repo --role apps x=apps/x --key apps.pem \
	--key snapshot.pem --key timestamp.pem --now $NOW
expect_exit 0 "$VFORGE" repo validate repo --root root.json --now $NOW
expect_out "1 delegated role"
echo ok
