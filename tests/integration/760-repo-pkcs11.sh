#!/bin/sh
# A threshold of 2 for targets where one key is on a SoftHSM2 token (PKCS#11)
# and one a PEM file: both sign, the repository validates; either alone is
# refused, naming the other's keyid.
. tests/integration/lib.sh
softhsm_setup
NOW=1800000000
cd "$TMP"
p11 --login --pin 1234 --keypairgen --key-type EC:prime256v1 --label hsm --id 01
p11 --read-object --type pubkey --id 01 -o hsm.der
openssl pkey -pubin -inform DER -in hsm.der -out hsm.pub
HSM="pkcs11:token=vf;object=hsm;pin-value=1234?module-path=$P11_MODULE"

for k in root pem snapshot timestamp; do
	"$VFORGE" key generate --type ed25519 -o $k.pem >/dev/null
done
"$VFORGE" root init root.json --now $NOW >/dev/null 2>&1
"$VFORGE" root add-key root.json root.pem.pub --role root >/dev/null
"$VFORGE" root add-key root.json pem.pem.pub --role targets >/dev/null
"$VFORGE" root add-key root.json hsm.pub --role targets >/dev/null
"$VFORGE" root add-key root.json snapshot.pem.pub --role snapshot >/dev/null
"$VFORGE" root add-key root.json timestamp.pem.pub --role timestamp >/dev/null
"$VFORGE" root set-threshold root.json targets 2 >/dev/null
"$VFORGE" root sign root.json --key root.pem >/dev/null
hsm_id=$("$VFORGE" key id hsm.pub)
pem_id=$("$VFORGE" key id pem.pem.pub)
printf 'payload\n' >payload

expect_exit 1 "$VFORGE" repo create repo --root root.json --key root.pem --key pem.pem \
	--key snapshot.pem --key timestamp.pem --target payload --now $NOW
expect_err "targets: threshold 2, 1 authorised key given; still needed: 1 more of: $hsm_id"
expect_exit 1 "$VFORGE" repo create repo --root root.json --key root.pem --key "$HSM" \
	--key snapshot.pem --key timestamp.pem --target payload --now $NOW
expect_err "still needed: 1 more of: $pem_id"
grep -q 1234 "$TMP/err" && fail "the PIN is in the message"
expect_exit 0 "$VFORGE" repo create repo --root root.json --key root.pem --key pem.pem \
	--key "$HSM" --key snapshot.pem --key timestamp.pem --target payload --now $NOW
grep -q "\"keyid\": \"$hsm_id\"" repo/metadata/1.targets.json || fail "no signature by the token's key"
grep -q "\"keyid\": \"$pem_id\"" repo/metadata/1.targets.json || fail "no signature by the PEM key"
expect_exit 0 "$VFORGE" repo validate repo --root root.json --now $NOW
expect_exit 0 "$VFORGE" repo add-targets repo payload=again --key pem.pem --key "$HSM" \
	--key snapshot.pem --key timestamp.pem --now $NOW
expect_exit 0 "$VFORGE" repo validate repo --root root.json --now $NOW
echo ok
