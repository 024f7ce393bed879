#!/bin/sh
# Public keys vforge must refuse (or treat specially), made with the openssl CLI.
# Private halves are thrown away. Run from tests/vectors/keys/: sh make-fixtures.sh
set -eu
pub() { openssl genpkey "$@" 2>/dev/null | openssl pkey -pubout; }
pub -algorithm RSA -pkeyopt rsa_keygen_bits:1024 >rsa1024.pub.pem            # below 2048 bits
pub -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 >rsa-pss.pub.pem         # id-RSASSA-PSS SPKI
pub -algorithm EC -pkeyopt ec_paramgen_curve:P-384 >p384.pub.pem              # not P-256
pub -algorithm ED25519 >ed25519.pub.pem                                       # Ed25519 as PEM
pub -algorithm X25519 >x25519.pub.pem                                         # not a signing key
