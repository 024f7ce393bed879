#!/bin/sh
# Bad metadata input, each refused with a clear error naming the file and the
# field: malformed and non-canonical JSON (a float, a duplicate key, an
# integer of 2^53, a string not in NFC), an unknown key type, a keyid that does
# not match its key (refused by repo create, a problem for root verify), a
# threshold of 0 or above the number of keys, an expiry in the past, a target
# name with "..".
. tests/integration/lib.sh
need python3
NOW=1800000000
cd "$TMP"
simple_root $NOW
KEYS="--key root.pem --key targets.pem --key snapshot.pem --key timestamp.pem"
rootid=$("$VFORGE" key id root.pem.pub)

# bad FILE EDIT: python3 edits the parsed root.json text (variable s) into FILE
bad() {
	python3 - "$1" "$2" <<'PY'
import sys
s = open("root.json", encoding="utf-8").read()
exec(sys.argv[2])
open(sys.argv[1], "w", encoding="utf-8").write(s)
PY
}
# refused FILE MESSAGE: both root verify and repo create refuse FILE, naming it and MESSAGE
refused() {
	expect_exit 1 "$VFORGE" root verify "$1" --now $NOW
	expect_err "$1"
	expect_err "$2"
	expect_exit 1 "$VFORGE" repo create "repo-$1" --root "$1" $KEYS --now $NOW
	expect_err "$2"
	[ ! -e "repo-$1/metadata" ] || fail "$1: a repository was written"
}

bad trunc.json 's = s[:len(s) // 2]'
refused trunc.json "line"
bad float.json 's = s.replace("\"version\": 1", "\"version\": 1.0")'
refused float.json "float"
bad dupkey.json 's = s.replace("\"version\": 1", "\"version\": 1, \"version\": 1")'
refused dupkey.json "duplicate"
bad bigint.json 's = s.replace("\"version\": 1", "\"version\": 9007199254740992")'
refused bigint.json "2^53"
bad nfc.json 's = s.replace("\"_type\": \"root\"", "\"_type\": \"root\", \"x-note\": \"Cafe\\u0301\"")'
refused nfc.json "normalization form c"
# a keyid that is not the sha256 of its key object: `repo create` refuses the
# root; `root verify` reads keyids as opaque names (TAP 12) and reports each
# such keyid as a problem (tough and updog refuse the root): exit 3
flagged() {
	expect_exit 3 "$VFORGE" root verify "$1" --now $NOW
	grep -q "error: '$1': keyid $2 is not the sha256 of its key object (" "$TMP/err" ||
		{ cat "$TMP/err"; fail "$1: no problem naming keyid $2"; }
	expect_exit 1 "$VFORGE" repo create "repo-$1" --root "$1" $KEYS --now $NOW
	expect_err "keyid does not match the key"
	[ ! -e "repo-$1/metadata" ] || fail "$1: a repository was written"
}
bad keytype.json 's = s.replace("\"keytype\": \"ed25519\"", "\"keytype\": \"dsa\"", 1)'
flagged keytype.json "[0-9a-f]*"
bad keyid.json "s = s.replace('$rootid', '$(printf '%064d' 0)')"
flagged keyid.json "$(printf '%064d' 0)"
bad threshold0.json 's = s.replace("\"threshold\": 1", "\"threshold\": 0", 1)'
refused threshold0.json "threshold"
bad threshold9.json 's = s.replace("\"threshold\": 1", "\"threshold\": 9", 1)'
expect_exit 3 "$VFORGE" root verify threshold9.json --now $NOW
expect_err "threshold 9 is more than its 1 key"
expect_exit 1 "$VFORGE" repo create repo-t9 --root threshold9.json $KEYS --now $NOW
expect_err "threshold"
bad frac.json 'import re; s = re.sub(r"(\"expires\": \"[0-9-]*T[0-9:]*)Z", r"\1.5Z", s)'
refused frac.json "YYYY-MM-DDTHH:MM:SSZ"
printf 'not json' >garbage.json
refused garbage.json "line 1"

# a key type vforge does not know, as a key file
printf -- '-----BEGIN PUBLIC KEY-----\nMIIBtzCCASsGByqGSM44BAEwggEeAoGBAP////8=\n-----END PUBLIC KEY-----\n' >dsa.pub
expect_exit 1 "$VFORGE" root add-key root.json dsa.pub --role targets
expect_err "dsa.pub"

# expiry in the past, a name with "..": refused before anything is written
expect_exit 3 "$VFORGE" repo create old --root root.json $KEYS --now $((NOW + 400 * 86400))
expect_err "expired"
expect_exit 2 "$VFORGE" repo create repo --root root.json $KEYS --now $NOW --expires targets=2020-01-01T00:00:00Z
expect_err "not after now"
printf 'x' >x
expect_exit 1 "$VFORGE" repo create repo --root root.json $KEYS --now $NOW --target "x=a/../b"
expect_err "target name 'a/../b': segment '..' is not allowed"
[ ! -e repo/metadata ] || fail "a repository was written"
echo ok
