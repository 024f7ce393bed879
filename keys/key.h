/**
 * @file key.h
 * @brief Signing keys: generation, loading, signing and verification.
 *
 * Three algorithms, named as TUF names their schemes:
 *   ed25519                 keytype "ed25519", public key as 64 hex digits
 *   ecdsa-sha2-nistp256     keytype "ecdsa",   public key as PEM (SPKI), DER signatures
 *   rsassa-pss-sha256       keytype "rsa",     public key as PEM (SPKI), PSS salt length 32
 *
 * A `struct vf_key` is a public key. A `struct vf_signer` can sign with the
 * matching private key, which lives in one of:
 *   - a PEM file (PKCS#8): refused when group or other may read it;
 *   - a PKCS#11 token: a "pkcs11:token=...;object=...[;pin-value=...]" URI,
 *     through OpenSSL's pkcs11 provider or engine;
 *   - an external program: "exec:<command>": the bytes to sign on stdin, the
 *     raw signature on stdout; `<command> --public-key` prints the PEM public key.
 * Private key material never leaves keys/, is never printed or logged, and is
 * wiped after use. Only keys/ includes OpenSSL.
 */
#ifndef VF_KEYS_KEY_H
#define VF_KEYS_KEY_H

#include "builder/base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vf_key_type {
	VF_KEY_ED25519 = 1,
	VF_KEY_ECDSA_P256,
	VF_KEY_RSA,           /**< RSA-PSS with SHA-256; 2048 bits or more (3072 generated) */
};

/** A public key (opaque). */
struct vf_key;

/** Something that can sign (opaque). */
struct vf_signer;

/** Parse "ed25519", "ecdsa-p256" or "rsa-3072" (the --type values). */
int vf_key_type_parse(const char *text, enum vf_key_type *ret, struct vf_err *err);

/**
 * Generate a key pair: the private key to `path` (PKCS#8 PEM, mode 0600,
 * created with O_EXCL, never overwriting) and the public key to
 * `<path>.pub` (PEM SPKI, 0644). On failure neither file is left.
 */
int vf_key_generate(enum vf_key_type type, const char *path, struct vf_err *err);

/**
 * Load a public key from a PEM file holding a public key, or the public half
 * of a private key file (which must then be 0600 or stricter).
 */
int vf_key_load(const char *path, struct vf_key **ret, struct vf_err *err);

/**
 * Build a public key from TUF's description: keytype ("ed25519", "ecdsa",
 * "rsa"), scheme ("ed25519", "ecdsa-sha2-nistp256", "rsassa-pss-sha256") and
 * keyval.public (hex for ed25519, PEM otherwise). Errors name what is wrong.
 */
int vf_key_from_tuf(const char *keytype, const char *scheme, const char *public_text,
		    struct vf_key **ret, struct vf_err *err);

/** Free a key; accepts NULL. */
void vf_key_free(struct vf_key *k);

/** A copy of a key. NULL on ENOMEM. */
struct vf_key *vf_key_dup(const struct vf_key *k);

enum vf_key_type vf_key_get_type(const struct vf_key *k);

/** TUF keytype: "ed25519", "ecdsa" or "rsa". */
const char *vf_key_keytype(const struct vf_key *k);

/** TUF scheme: "ed25519", "ecdsa-sha2-nistp256" or "rsassa-pss-sha256". */
const char *vf_key_scheme(const struct vf_key *k);

/**
 * TUF keyval.public: 64 lower-case hex digits for ed25519, PEM (SPKI, with
 * a trailing newline) otherwise. *ret is malloc'd.
 */
int vf_key_public_text(const struct vf_key *k, char **ret, struct vf_err *err);

/** Whether two keys are the same public key. */
int vf_key_equal(const struct vf_key *a, const struct vf_key *b);

/**
 * Verify `sig` over `msg`. Returns 0 when valid, -VF_EVERIFY when not (no
 * message needed), another negative errno on internal failure.
 */
int vf_key_verify(const struct vf_key *k, const void *msg, size_t len, const uint8_t *sig,
		  size_t sig_len);

/**
 * Open a signer by reference: a PEM file path, a "pkcs11:" URI or
 * "exec:<command>". Errors name the reference (never a secret, e.g. not a PIN).
 */
int vf_signer_open(const char *ref, struct vf_signer **ret, struct vf_err *err);

/** The signer's public key (owned by the signer). */
const struct vf_key *vf_signer_key(const struct vf_signer *s);

/**
 * Whether several threads may sign with `s` at once: a key file's key (in
 * memory) may; a PKCS#11 session or an external command signs one message at
 * a time.
 */
bool vf_signer_is_concurrent(const struct vf_signer *s);

/** Sign `msg`; *ret_sig is malloc'd (raw bytes: 64 for ed25519, DER for ECDSA, k bytes for RSA). */
int vf_signer_sign(struct vf_signer *s, const void *msg, size_t len, uint8_t **ret_sig,
		   size_t *ret_len, struct vf_err *err);

/**
 * Limit the time one run of an "exec:" signer's command may take, in
 * milliseconds (default 120000, enough for a human to touch a token; 0
 * restores the default). The command is killed when the time is up. No
 * effect on other signers. Added to the contract for tests and unattended
 * signing; see docs/keys.md for the exec contract.
 */
void vf_signer_set_timeout(struct vf_signer *s, unsigned timeout_ms);

/** Close a signer and wipe what it holds; accepts NULL. */
void vf_signer_free(struct vf_signer *s);

#endif
