#!/usr/bin/python3
"""Known answers for keys/ from the shared TUF vectors (../shared/vectors/tuf).

Run from the repository root with Debian's python3 (python3-securesystemslib,
python3-cryptography):   /usr/bin/python3 tests/vectors/keys/make-vectors.py

Writes, under tests/vectors/keys/:
  signed/<case>.cjson  securesystemslib.formats.encode_canonical() of the file's
                       "signed" value: the bytes its signatures were made over.
                       (json.dumps(sort_keys=True, separators=(",", ":")) is NOT
                       the same: it writes the newlines of PEM keys as \\n,
                       canonical JSON writes them raw.)
  signed.txt           one case a line: case, source, key files, sha256 of the
                       source, and what python-cryptography (an independent
                       verifier) finds: valid, invalid, unknown keyid, keys
                       vforge refuses (hex-encoded ECDSA).
  keyids.txt           one key a line: source, keyid in the file, the keyid of
                       the key as vforge describes it (keytype "ecdsa" for the
                       legacy "ecdsa-sha2-nistp256", PEM as OpenSSL and
                       python-cryptography write it, with its final newline),
                       hashed over securesystemslib's canonical JSON of
                       {keytype, keyval: {public}, scheme}, and whether the
                       file's own keyid follows that same rule ("same") or
                       another one ("other": python-tuf's legacy keyids also
                       hash keyid_hash_algorithms; some PEMs lack the newline).
The vectors themselves are never copied here.
"""
import hashlib
import json
import os
import sys

import securesystemslib.formats as ssl_formats
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding

VEC = "../shared/vectors/tuf"
OUT = "tests/vectors/keys"

# case, signed file, files holding its keys
CASES = [
    ("pytuf-root", "python-tuf/repository/metadata/root.json", ["python-tuf/repository/metadata/root.json"]),
    ("pytuf-timestamp", "python-tuf/repository/metadata/timestamp.json", ["python-tuf/repository/metadata/root.json"]),
    ("pytuf-snapshot", "python-tuf/repository/metadata/snapshot.json", ["python-tuf/repository/metadata/root.json"]),
    ("pytuf-targets", "python-tuf/repository/metadata/targets.json", ["python-tuf/repository/metadata/root.json"]),
    ("tough-simple-rsa", "tough/simple-rsa/root.json", ["tough/simple-rsa/root.json"]),
    ("tough-rotated-root-2", "tough/rotated-root/2.root.json",
     ["tough/rotated-root/1.root.json", "tough/rotated-root/2.root.json"]),
    ("tough-ecdsa-new-type", "tough/ecdsa-new-type-sig-keys/root.json", ["tough/ecdsa-new-type-sig-keys/root.json"]),
    ("tough-ecdsa-pem-legacy", "tough/pem-encoded-ecdsa-sig-keys/root.json", ["tough/pem-encoded-ecdsa-sig-keys/root.json"]),
    ("tough-ecdsa-hex", "tough/hex-encoded-ecdsa-sig-keys/root.json", ["tough/hex-encoded-ecdsa-sig-keys/root.json"]),
    ("tough-invalid-sig", "tough/invalid-root-json-signature/root.json", ["tough/invalid-root-json-signature/root.json"]),
    ("tough-safe-targets", "tough/safe-target-paths/metadata/targets.json", ["tough/safe-target-paths/metadata/1.root.json"]),
]


def load(rel):
    with open(os.path.join(VEC, rel), "rb") as f:
        return f.read()


def keys_of(rels):
    keys = {}
    for rel in rels:
        keys.update(json.loads(load(rel))["signed"]["keys"])
    return keys


def pem_public(key):
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def crypto_key(k):
    """The public key as python-cryptography reads it; None where vforge refuses it."""
    pub = k["keyval"]["public"]
    if k["scheme"] == "ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub))
    if not pub.startswith("-----BEGIN PUBLIC KEY-----"):
        return None  # hex-encoded ECDSA point: vforge wants PEM
    return serialization.load_pem_public_key(pub.encode())


def verify(k, sig, msg):
    key = crypto_key(k)
    if key is None:
        return "refused"
    try:
        if k["scheme"] == "ed25519":
            key.verify(sig, msg)
        elif k["scheme"] == "rsassa-pss-sha256":
            key.verify(sig, msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        else:
            key.verify(sig, msg, ec.ECDSA(hashes.SHA256()))
        return "valid"
    except InvalidSignature:
        return "invalid"


def vforge_view(k):
    """keytype, scheme and public text as vforge's vf_key_public_text gives them."""
    keytype = {"ecdsa-sha2-nistp256": "ecdsa"}.get(k["keytype"], k["keytype"])
    key = crypto_key(k)
    if k["scheme"] == "ed25519":
        public = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    else:
        public = pem_public(key)
    return keytype, k["scheme"], public


def keyid(keytype, scheme, public):
    obj = {"keytype": keytype, "scheme": scheme, "keyval": {"public": public}}
    return hashlib.sha256(ssl_formats.encode_canonical(obj).encode("utf-8")).hexdigest()


def main():
    os.makedirs(os.path.join(OUT, "signed"), exist_ok=True)
    lines = ["# case source keys-from sha256(source) valid invalid unknown-keyid refused-keys",
             "# written by tests/vectors/keys/make-vectors.py; paths relative to " + VEC]
    for case, rel, key_rels in CASES:
        raw = load(rel)
        doc = json.loads(raw)
        canon = ssl_formats.encode_canonical(doc["signed"]).encode("utf-8")
        with open(os.path.join(OUT, "signed", case + ".cjson"), "wb") as f:
            f.write(canon)
        keys = keys_of(key_rels)
        count = {"valid": 0, "invalid": 0, "unknown": 0, "refused": 0}
        for s in doc["signatures"]:
            k = keys.get(s["keyid"])
            count["unknown" if k is None else verify(k, bytes.fromhex(s["sig"]), canon)] += 1
        refused = sum(1 for k in keys_of(key_rels[-1:]).values() if crypto_key(k) is None)
        lines.append("%s %s %s %s %d %d %d %d" % (
            case, rel, ",".join(key_rels), hashlib.sha256(raw).hexdigest(),
            count["valid"], count["invalid"], count["unknown"], refused))
    with open(os.path.join(OUT, "signed.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    lines = ["# source keyid-in-file keyid-as-vforge-describes-the-key file-rule",
             "# written by tests/vectors/keys/make-vectors.py; paths relative to " + VEC]
    seen = set()
    for _, _, key_rels in CASES:
        for rel in key_rels:
            for kid, k in sorted(json.loads(load(rel))["signed"]["keys"].items()):
                if (rel, kid) in seen or crypto_key(k) is None:
                    continue
                seen.add((rel, kid))
                mine = keyid(*vforge_view(k))
                own = keyid(k["keytype"], k["scheme"], k["keyval"]["public"])
                lines.append("%s %s %s %s" % (rel, kid, mine,
                                              "same" if own == kid and mine == kid else "other"))
    with open(os.path.join(OUT, "keyids.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
