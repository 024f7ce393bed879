#!/bin/sh
# pkcs11: keys through the CLI, on a SoftHSM2 token made here: the keyid vforge
# reads from the token equals the keyid of the public key pkcs11-tool exports;
# a wrong PIN fails with exit 1 and never shows the PIN.
. tests/integration/lib.sh
need softhsm2-util
need pkcs11-tool
need openssl
module=
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so; do
	[ -r "$m" ] && module=$m && break
done
[ -n "$module" ] || skip "SoftHSM2's PKCS#11 module is not installed (Debian: softhsm2)"
enginesdir=$(openssl version -e | sed 's/^ENGINESDIR: "//; s/"$//')
[ -e "$enginesdir/pkcs11.so" ] ||
	skip "OpenSSL's pkcs11 engine is not in $enginesdir (Debian: libengine-pkcs11-openssl)"

mkdir "$TMP/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP/tokens" \
	>"$TMP/softhsm2.conf"
export SOFTHSM2_CONF="$TMP/softhsm2.conf"
softhsm2-util --init-token --free --label vf --pin 1234 --so-pin 5678 >/dev/null
p11() { pkcs11-tool --module "$module" --token-label vf "$@" >/dev/null 2>&1; }
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
