#!/bin/sh
# pkcs11: keys through the CLI, on a SoftHSM2 token made here: the keyid vforge
# reads from the token equals the keyid of the public key pkcs11-tool exports;
# a wrong PIN fails with exit 1 and never shows the PIN.
. tests/integration/lib.sh
softhsm_setup
module=$P11_MODULE
p11 --login --pin 1234 --keypairgen --key-type EC:prime256v1 --label ec --id 01
p11 --login --pin 1234 --keypairgen --key-type rsa:3072 --label rsa --id 02

for obj in ec rsa; do
	id=01; [ "$obj" = rsa ] && id=02
	p11 --read-object --type pubkey --id "$id" -o "$TMP/$obj.der"
	openssl pkey -pubin -inform DER -in "$TMP/$obj.der" -out "$TMP/$obj.pem"
	expect_exit 0 "$VFORGE" key id "$TMP/$obj.pem"
	want=$(cat "$TMP/out")
	expect_exit 0 "$VFORGE" key id "pkcs11:token=vf;object=$obj;pin-value=1234?module-path=$module"
	[ "$(cat "$TMP/out")" = "$want" ] || fail "$obj: keyid from the token differs from the exported key's"
	expect_exit 0 "$VFORGE" key id --json "pkcs11:token=vf;object=$obj;pin-value=1234;module-path=$module"
	expect_out "\"keyid\": \"$want\""
done
expect_out '"keytype": "rsa"'

expect_exit 1 "$VFORGE" key id "pkcs11:token=vf;object=ec;pin-value=9876?module-path=$module"
expect_err "pin-value=***"
expect_err "PIN incorrect"
grep -q 9876 "$TMP/err" && fail "the PIN is in the message"
expect_exit 1 "$VFORGE" key id "pkcs11:token=vf;object=nothing;pin-value=1234?module-path=$module"
expect_err "no private key found"
expect_exit 1 "$VFORGE" key id "pkcs11:token=vf"
expect_err "the URI names no key"
echo ok
