#!/bin/sh
# vforge key generate / key id: files, modes, exit codes, interop with the
# openssl CLI, and keyids against known answers from the shared TUF vectors
# (tests/vectors/keys/keyids.txt, computed with securesystemslib).
. tests/integration/lib.sh
need openssl
need python3
VEC=../shared/vectors/tuf
[ -d "$VEC" ] || fail "missing $VEC (the shared vectors live in ../shared beside the checkout)"

mode_of() { stat -c %a "$1"; }

# --- generate each type -------------------------------------------------------------
for t in ed25519 ecdsa-p256 rsa-3072; do
	expect_exit 0 "$VFORGE" key generate --type "$t" -o "$TMP/$t.pem"
	id=$(cat "$TMP/out")
	echo "$id" | grep -Eq '^[0-9a-f]{64}$' || fail "$t: keyid '$id' is not 64 hex digits"
	[ "$(mode_of "$TMP/$t.pem")" = 600 ] || fail "$t: private key mode $(mode_of "$TMP/$t.pem")"
	[ "$(mode_of "$TMP/$t.pem.pub")" = 644 ] || fail "$t: public key mode"
	head -1 "$TMP/$t.pem" | grep -qx -- '-----BEGIN PRIVATE KEY-----' || fail "$t: not PKCS#8"
	# OpenSSL reads the private key and writes exactly our public key file
	openssl pkey -in "$TMP/$t.pem" -pubout >"$TMP/$t.openssl.pub"
	cmp -s "$TMP/$t.openssl.pub" "$TMP/$t.pem.pub" || fail "$t: public key differs from openssl's"
	# the same keyid from the public file, the private file, and an exec: signer
	expect_exit 0 "$VFORGE" key id "$TMP/$t.pem.pub"
	[ "$(cat "$TMP/out")" = "$id" ] || fail "$t: key id of .pub differs"
	expect_exit 0 "$VFORGE" key id "$TMP/$t.pem"
	[ "$(cat "$TMP/out")" = "$id" ] || fail "$t: key id of the private key differs"
	printf '#!/bin/sh\nexec openssl pkey -in "%s" -pubout\n' "$TMP/$t.pem" >"$TMP/pub.sh"
	expect_exit 0 "$VFORGE" key id "exec:sh $TMP/pub.sh"
	[ "$(cat "$TMP/out")" = "$id" ] || fail "$t: key id through exec: differs"
	# --json: the key object for root.json, and the same keyid
	expect_exit 0 "$VFORGE" key id --json "$TMP/$t.pem.pub"
	python3 - "$TMP/out" "$id" "$TMP/$t.pem.pub" "$t" <<'PY' || fail "$t: --json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["keyid"] == sys.argv[2], d
kt = {"ed25519": "ed25519", "ecdsa-p256": "ecdsa", "rsa-3072": "rsa"}[sys.argv[4]]
sc = {"ed25519": "ed25519", "ecdsa": "ecdsa-sha2-nistp256", "rsa": "rsassa-pss-sha256"}[kt]
assert d["key"]["keytype"] == kt and d["key"]["scheme"] == sc, d
pub = d["key"]["keyval"]["public"]
if kt == "ed25519":
    assert len(pub) == 64 and all(c in "0123456789abcdef" for c in pub), pub
else:
    assert pub == open(sys.argv[3]).read(), pub
PY
done

# securesystemslib's keyid, where Debian's python3-securesystemslib is installed
if /usr/bin/python3 -c 'import securesystemslib' 2>/dev/null; then
	for t in ed25519 ecdsa-p256 rsa-3072; do
		"$VFORGE" key id --json "$TMP/$t.pem.pub" >"$TMP/$t.json"
		/usr/bin/python3 - "$TMP/$t.json" <<'PY' || fail "$t: securesystemslib computes another keyid"
import hashlib, json, sys
import securesystemslib.formats as f
d = json.load(open(sys.argv[1]))
assert hashlib.sha256(f.encode_canonical(d["key"]).encode()).hexdigest() == d["keyid"]
PY
	done
else
	echo "note: python3-securesystemslib not installed; keyids checked against the vectors only"
fi

# --- keyids of the shared vectors' keys ------------------------------------------------
n=0
grep -v '^#' tests/vectors/keys/keyids.txt | while read -r src kid want rule; do
	python3 - "$VEC/$src" "$kid" "$TMP/v.pem" <<'PY'
import base64, json, sys
k = json.load(open(sys.argv[1]))["signed"]["keys"][sys.argv[2]]
pub = k["keyval"]["public"]
if k["keytype"] == "ed25519":  # raw key -> SPKI PEM
    der = bytes.fromhex("302a300506032b6570032100") + bytes.fromhex(pub)
    b64 = base64.b64encode(der).decode()
    pub = "-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----\n"
open(sys.argv[3], "w").write(pub)
PY
	got=$("$VFORGE" key id "$TMP/v.pem") || fail "key id $src $kid"
	[ "$got" = "$want" ] || fail "$src key $kid: keyid $got, expected $want"
	# where the file's keyid follows the same rule, it is itself the known answer
	[ "$rule" != same ] || [ "$got" = "$kid" ] || fail "$src: keyid $got differs from the file's"
	n=$((n + 1))
	echo "$n" >"$TMP/count"
done
[ "$(cat "$TMP/count")" -ge 20 ] || fail "only $(cat "$TMP/count") vector keys checked"

# --- exit codes --------------------------------------------------------------------------
expect_exit 1 "$VFORGE" key generate --type ed25519 -o "$TMP/ed25519.pem"
expect_err "private key '$TMP/ed25519.pem' already exists"
expect_exit 2 "$VFORGE" key generate --type rsa-2048 -o "$TMP/x.pem"
expect_err "unknown key type 'rsa-2048'"
expect_exit 2 "$VFORGE" key generate -o "$TMP/x.pem"
expect_err "missing --type"
expect_exit 2 "$VFORGE" key generate --type ed25519
expect_err "missing -o"
expect_exit 2 "$VFORGE" key generate --type ed25519 -o "$TMP/x.pem" extra
expect_exit 2 "$VFORGE" key frobnicate
expect_err "unknown subcommand 'frobnicate'"
expect_exit 2 "$VFORGE" key
expect_exit 2 "$VFORGE" key id
expect_err "expected one key, got 0 arguments"
expect_exit 2 "$VFORGE" key id a b
expect_exit 2 "$VFORGE" key id --bogus x
[ ! -e "$TMP/x.pem" ] && [ ! -e "$TMP/x.pem.pub" ] || fail "usage errors left files"
expect_exit 0 "$VFORGE" key --help
expect_out "vforge key generate --type ed25519|ecdsa-p256|rsa-3072 -o <path>"
expect_exit 0 "$VFORGE" help key
expect_exit 0 "$VFORGE" key generate --help

chmod 644 "$TMP/ecdsa-p256.pem"
expect_exit 1 "$VFORGE" key id "$TMP/ecdsa-p256.pem"
expect_err "private key '$TMP/ecdsa-p256.pem' has mode 0644: it must not be readable by group or other (chmod 600)"
grep -q 'MIG' "$TMP/err" && fail "the message quotes the key"
chmod 640 "$TMP/ecdsa-p256.pem"
expect_exit 1 "$VFORGE" key id "$TMP/ecdsa-p256.pem"
expect_err "has mode 0640"
expect_exit 1 "$VFORGE" key id "$TMP/missing.pem"
expect_err "cannot open key file '$TMP/missing.pem'"
expect_exit 1 "$VFORGE" key id "exec:false"
expect_err "exited with status 1"

# a failed generate leaves nothing: the public key file is in the way
touch "$TMP/blocked.pem.pub"
expect_exit 1 "$VFORGE" key generate --type ecdsa-p256 -o "$TMP/blocked.pem"
expect_err "public key '$TMP/blocked.pem.pub' already exists"
[ ! -e "$TMP/blocked.pem" ] || fail "a private key was left behind"
echo "ok"
