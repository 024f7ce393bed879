/**
 * @file internal.h
 * @brief Declarations shared by the files of keys/ (never included outside it).
 *
 * key.c      public keys: parse, format, compare, verify, load
 * keygen.c   vf_key_generate
 * keyfile.c  reading key files (permission check, bounded, wiped)
 * signer.c   vf_signer_open dispatch, PEM-file signers, signing with an EVP_PKEY
 * pkcs11.c   PKCS#11 signers through libp11's OpenSSL engine
 * exec.c     "exec:" signers: an external program signs
 * digest_blocks.c  vf_digest_blocks: many salted block digests, two at a time
 * sha256_x86.c     SHA-256 compression with the x86-64 SHA instructions
 *
 * OpenSSL's error queue is converted here, at the module boundary:
 * vf_keys_ossl_err() drains it into the message; every failing path through
 * OpenSSL calls it (or ERR_clear_error()) so no stale error leaks to callers.
 */
#ifndef VF_KEYS_INTERNAL_H
#define VF_KEYS_INTERNAL_H

#include "builder/base/err.h"
#include "keys/digest.h"
#include "keys/key.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Largest key file or public-key text we read (a 16384-bit RSA PKCS#8 PEM is ~13 KB). */
#define VF_KEYS_FILE_MAX (64 * 1024)

/** Largest signature any signer may return (RSA-16384 is 2048 bytes). */
#define VF_KEYS_SIG_MAX 4096

/** RSA modulus sizes we accept, in bits. */
#define VF_KEYS_RSA_MIN_BITS 2048
#define VF_KEYS_RSA_MAX_BITS 16384

/** Default time an "exec:" command may take, in milliseconds. */
#define VF_KEYS_EXEC_TIMEOUT_MS (120 * 1000)

/** A public key: always a plain (provider, non-engine) EVP_PKEY with public parts only. */
struct vf_key {
	enum vf_key_type type;
	EVP_PKEY *pkey; /**< owned; shared between dups by reference count */
};

struct vf_pkcs11;
struct vf_exec;

/** What backs a signer. */
enum vf_signer_kind {
	VF_SIGNER_PEM = 1,
	VF_SIGNER_PKCS11,
	VF_SIGNER_EXEC,
};

struct vf_signer {
	enum vf_signer_kind kind;
	char *name;              /**< the reference for messages, secrets redacted */
	struct vf_key *key;      /**< the public key (owned) */
	EVP_PKEY *priv;          /**< PEM, PKCS#11: the private key (EVP_PKEY_free wipes) */
	struct vf_pkcs11 *p11;   /**< PKCS#11: engine handle (owned) */
	struct vf_exec *exec;    /**< exec: the command (owned) */
	unsigned timeout_ms;     /**< exec: time limit of one run */
};

/**
 * Set the error message from `fmt` and append what OpenSSL's error queue
 * holds (": <reason>; <reason>"), then clear the queue. Returns -|code|.
 */
int vf_keys_ossl_err(struct vf_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Wrap a public EVP_PKEY: classify it (Ed25519, EC P-256, RSA of 2048..16384
 * bits) and make a plain public-only copy, so keys from engines or private
 * keys never end up inside a struct vf_key. `what` names the key in errors.
 * Errors: -EOPNOTSUPP for another algorithm, curve or size.
 */
int vf_keys_key_from_pkey(EVP_PKEY *pkey, const char *what, struct vf_key **ret,
			  struct vf_err *err);

/** The scheme's digest: SHA-256, or NULL for Ed25519 (which hashes itself). */
const EVP_MD *vf_keys_md(enum vf_key_type type);

/**
 * Parse PEM text holding exactly one "PUBLIC KEY" (SPKI) block, nothing but
 * whitespace after it. `what` names the text in errors. -EINVAL when it is not.
 */
int vf_keys_parse_spki_pem(const char *text, size_t len, const char *what, EVP_PKEY **ret,
			   struct vf_err *err);

/** A key file read into memory: wipe with vf_keys_file_release(). */
struct vf_keys_file {
	char *data;   /**< NUL-terminated contents (owned, OPENSSL_cleanse'd on release) */
	size_t len;
	mode_t mode;  /**< st_mode of the opened file (fstat) */
};

/**
 * Read a regular file of at most VF_KEYS_FILE_MAX bytes. The mode comes
 * from fstat() on the descriptor that was read (no race with a chmod or a
 * rename in between). Errors name the path.
 */
int vf_keys_file_read(const char *path, struct vf_keys_file *f, struct vf_err *err);

/** Wipe and free the contents; accepts a zeroed struct. */
void vf_keys_file_release(struct vf_keys_file *f);

/**
 * Refuse a private key file that group or other may access:
 * "private key 'k.pem' has mode 0644: it must not be readable by group or other (chmod 600)".
 */
int vf_keys_check_private_mode(const char *path, mode_t mode, struct vf_err *err);

/** Whether text contains a PEM "-----BEGIN PUBLIC KEY-----" line. */
bool vf_keys_is_public_pem(const char *text);

/**
 * Parse an unencrypted private key PEM (PKCS#8, or the traditional RSA/EC
 * forms) without ever prompting for a passphrase. `what` names it in errors;
 * error messages never quote the contents.
 */
int vf_keys_parse_private_pem(const char *text, size_t len, const char *what, EVP_PKEY **ret,
			      struct vf_err *err);

/**
 * Sign with an EVP_PKEY (file or engine key) as `type`'s scheme requires:
 * Ed25519 pure, ECDSA-SHA256 DER, RSA-PSS-SHA256 with MGF1-SHA256 and a
 * 32-byte salt. An engine key signs through its engine's methods.
 * *ret_sig is malloc'd.
 */
int vf_keys_pkey_sign(enum vf_key_type type, EVP_PKEY *pkey, const void *msg, size_t len,
		      uint8_t **ret_sig, size_t *ret_len, struct vf_err *err);

/** vf_signer_open() for "pkcs11:" URIs: fills s->name, s->key, s->priv, s->p11. */
int vf_keys_pkcs11_open(struct vf_signer *s, const char *uri, struct vf_err *err);

/** Release what vf_keys_pkcs11_open() set up (the key first, then the engine). */
void vf_keys_pkcs11_release(struct vf_signer *s);

/** vf_signer_open() for "exec:" references: fills s->name, s->key, s->exec. */
int vf_keys_exec_open(struct vf_signer *s, const char *command, struct vf_err *err);

/** Run the command with `msg` on its stdin; the raw signature from its stdout. */
int vf_keys_exec_sign(struct vf_signer *s, const void *msg, size_t len, uint8_t **ret_sig,
		      size_t *ret_len, struct vf_err *err);

/** Free the command. */
void vf_keys_exec_release(struct vf_signer *s);

/** Whether this CPU has the SHA-256 instructions vf_sha256_hw_* use (x86-64 SHA-NI). */
bool vf_sha256_hw_available(void);

/**
 * Compress n 64-byte chunks at p into the SHA-256 state h[0..7] (the
 * usual words, host order; no padding). Only when vf_sha256_hw_available().
 */
void vf_sha256_hw_blocks(uint32_t h[8], const uint8_t *p, size_t n);

/** The same for two independent messages at once, n chunks each (twice the throughput). */
void vf_sha256_hw_blocks2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8], const uint8_t *pb,
			  size_t n);

/** SHA-256's initial state (FIPS 180-4), for the SHA-NI paths. */
extern const uint32_t vf_sha256_iv[8];

/** The digest of a final state: its eight words big-endian into out[32]. */
void vf_sha256_state_digest(const uint32_t h[8], uint8_t out[32]);

/** vf_sha256_init(), choosing the path: allow_hw false forces the backend (for tests). */
int vf_sha256_init_opt(struct vf_sha256 *s, bool allow_hw);

/**
 * vf_digest_blocks_new(), choosing the path: allow_hw false forces the
 * generic one (OpenSSL, one block at a time), so tests compare the two.
 */
struct vf_digest_blocks *vf_keys_digest_blocks_new(const struct vf_digest_alg *alg,
						   const void *prefix, size_t prefix_len,
						   const void *suffix, size_t suffix_len,
						   size_t block_size, bool allow_hw);

/** Whether `h` takes the SHA-NI path. */
bool vf_keys_digest_blocks_is_hw(const struct vf_digest_blocks *h);

#endif
