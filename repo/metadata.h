/**
 * @file metadata.h
 * @brief TUF metadata (specification 1.0.x): root, targets with delegations,
 *        snapshot, timestamp; parse, build, format, sign and verify.
 *
 * A `struct vf_tuf_md` is one metadata document: the `signed` part as a typed
 * model plus the `signatures`. The model is the source of truth: formatting,
 * signing and verifying all serialise it, so what is verified is exactly what
 * the caller reads. Members vforge does not know are kept (in `extra` JSON
 * objects at every level, as the specification requires) and written back,
 * so foreign metadata round-trips to the same canonical bytes.
 *
 * Typical sequences:
 *
 *     // read and check a role (client side)
 *     vf_tuf_md_load("root.json", VF_TUF_ROOT, 0, &root, err);
 *     vf_tuf_verify(root, "root", root, &res, err);          // self-signed threshold
 *     vf_tuf_md_load("timestamp.json", VF_TUF_TIMESTAMP, 0, &ts, err);
 *     vf_tuf_verify(root, "timestamp", ts, &res, err);
 *     vf_tuf_md_verify_expiry(ts, now, err);
 *
 *     // build and sign a role (repository side)
 *     md = vf_tuf_md_new(VF_TUF_ROOT);
 *     md->expires = now + 365 * 86400;
 *     vf_tuf_md_add_key(md, "root", key, keyid, err);      // for each role and key
 *     vf_tuf_md_set_threshold(md, "root", 2, err);
 *     vf_tuf_md_sign(md, signers, n, err);                  // adds/replaces signatures
 *     vf_tuf_md_save(md, "1.root.json", err);
 *
 * Root rotation: root N+1 must pass vf_tuf_verify(root_N, "root", root_N1) and
 * vf_tuf_verify(root_N1, "root", root_N1), and have version N+1.
 *
 * Strings in the model are NUL-terminated UTF-8 (documents holding "\u0000"
 * in such fields are refused). Arrays are owned by the document; pointers to
 * entries stay valid until the next call that changes the same array.
 * Functions that change a document do not touch its signatures: call
 * vf_tuf_md_clear_signatures() when the content changed, or re-sign.
 * All functions report errors as described in builder/base/err.h; "role X:"
 * and JSON paths such as `signed.roles.root.threshold` name what is wrong.
 */
#ifndef VF_REPO_METADATA_H
#define VF_REPO_METADATA_H

#include "builder/base/buf.h"
#include "builder/base/err.h"
#include "keys/key.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** The spec_version vforge writes (python-tuf, go-tuf and tuf-js declare it). */
#define VF_TUF_SPEC_VERSION "1.0.31"

/** Length of an `expires` text, "YYYY-MM-DDTHH:MM:SSZ", without the NUL. */
#define VF_TUF_TIME_LEN 20

/** Largest metadata file vf_tuf_md_load() reads (and the parser accepts). */
#define VF_TUF_MAX_FILE ((uint64_t)64 << 20)

/** Number of top-level roles. */
#define VF_TUF_N_TOP_ROLES 4

/** The four metadata types; also the index + 1 of root roles in `roles[]`. */
enum vf_tuf_type {
	VF_TUF_ROOT = 1,
	VF_TUF_TARGETS,
	VF_TUF_SNAPSHOT,
	VF_TUF_TIMESTAMP,
};

/** Parse flags. */
enum {
	/**
	 * Accept keyids that are not sha256 of the canonical key object (TAP 12:
	 * keyids as opaque names; python-tuf, go-tuf and tuf-js do). By default a
	 * mismatch is refused, as tough does and the specification says.
	 */
	VF_TUF_PARSE_OPAQUE_KEYIDS = 1u << 0,
};

/** Target and metafile hashes: lower- or upper-case hex as read, "" when absent. */
struct vf_tuf_hashes {
	char sha256[65];
	char sha512[129];
};

/** A public key as TUF writes it: `"KEYID": {"keytype", "scheme", "keyval": {"public"}}`. */
struct vf_tuf_key {
	char *keyid;             /**< as in the document (sha256 of `json` unless opaque) */
	const char *keytype;     /**< points into json ("ed25519", "ecdsa", "rsa", ...) */
	const char *scheme;      /**< points into json */
	const char *public_text; /**< points into json: keyval.public */
	void *json;              /**< the key object exactly as written (json_t *), owned */
};

/** A set of keys by keyid: root's `keys`, or a targets role's `delegations.keys`. */
struct vf_tuf_keys {
	struct vf_tuf_key *v; /**< sorted by keyid (byte order), unique */
	size_t n;
};

/**
 * A role: one of root's four `roles`, or a delegated role of a targets role.
 * Delegated roles have exactly one of `paths` and `path_hash_prefixes`.
 */
struct vf_tuf_role {
	char *name;              /**< "root", "targets", ... or the delegated name */
	char **keyids;           /**< in document order, unique */
	size_t n_keyids;
	uint64_t threshold;      /**< 1 ≤ threshold ≤ n_keyids in valid metadata */
	/* delegated roles only */
	bool terminating;
	bool has_paths;          /**< `paths` present (else `path_hash_prefixes`) */
	char **paths;            /**< shell-style patterns, `*` and `?` within a segment */
	size_t n_paths;          /**< number of paths or path_hash_prefixes */
	void *extra;             /**< unknown members (json_t * object) or NULL */
};

/** Succinct hash-bin delegation (TAP 15): 2^bit_length roles "<prefix>-<hex>". */
struct vf_tuf_succinct {
	char **keyids;
	size_t n_keyids;
	uint64_t threshold;
	unsigned bit_length;     /**< 1..32 */
	char *name_prefix;
	void *extra;
};

/** A targets role's `delegations`: `roles` (in priority order) or succinct bins. */
struct vf_tuf_delegations {
	struct vf_tuf_keys keys;
	struct vf_tuf_role *roles;       /**< NULL/0 when `succinct` is set */
	size_t n_roles;
	struct vf_tuf_succinct *succinct; /**< NULL unless succinct_roles */
	void *extra;
};

/** A snapshot/timestamp `meta` entry (METAFILE). */
struct vf_tuf_meta {
	char *name;              /**< "targets.json", "role.json", "snapshot.json" */
	uint64_t version;        /**< ≥ 1 */
	bool has_length;
	uint64_t length;
	struct vf_tuf_hashes hashes; /**< both "" when the entry has no hashes */
	void *extra;
};

/** A targets `targets` entry (TARGETFILE). At least one hash is set. */
struct vf_tuf_target {
	char *path;              /**< relative, no "", ".", ".." components, no leading "/" */
	uint64_t length;
	struct vf_tuf_hashes hashes;
	void *custom;            /**< the "custom" value (json_t *) or NULL */
	void *extra;
};

/** A signature: keyid and hex signature ("" is "not signed yet", never valid). */
struct vf_tuf_sig {
	char *keyid;
	char *sig;
	void *extra;
};

/** One metadata document. Fields not of its type stay empty. */
struct vf_tuf_md {
	enum vf_tuf_type type;
	char *spec_version;
	uint64_t version;        /**< ≥ 1 */
	time_t expires;          /**< seconds since the epoch, UTC; years 0001..9999 */
	void *extra;             /**< unknown members of "signed" */
	void *envelope_extra;    /**< unknown members beside "signed"/"signatures" */
	unsigned flags;          /**< VF_TUF_PARSE_* the document was parsed with */

	struct vf_tuf_sig *sigs; /**< in document order */
	size_t n_sigs;

	/* root */
	bool consistent_snapshot;
	struct vf_tuf_keys keys;
	struct vf_tuf_role roles[VF_TUF_N_TOP_ROLES]; /**< index vf_tuf_type - 1 */

	/* targets */
	struct vf_tuf_target **targets; /**< sorted by path (byte order), unique */
	size_t n_targets;
	struct vf_tuf_delegations *delegations; /**< NULL when absent */

	/* snapshot and timestamp */
	struct vf_tuf_meta **meta; /**< sorted by name, unique */
	size_t n_meta;
};

/* ---- names and types ------------------------------------------------------------ */

/** "root", "targets", "snapshot" or "timestamp"; "unknown" otherwise. */
const char *vf_tuf_type_name(enum vf_tuf_type type);

/** The type whose name is `name` (a top-level role name), or 0. */
enum vf_tuf_type vf_tuf_type_from_name(const char *name);

/* ---- documents ------------------------------------------------------------------ */

/**
 * A new, empty document of `type`: version 1, spec_version VF_TUF_SPEC_VERSION,
 * expires 0 (set it), root roles with threshold 1 and no keys, root with
 * consistent_snapshot true. NULL on ENOMEM.
 */
struct vf_tuf_md *vf_tuf_md_new(enum vf_tuf_type type);

/** Free a document; accepts NULL and half-built documents. */
void vf_tuf_md_free(struct vf_tuf_md *md);

/**
 * Parse a metadata document strictly (see docs/tuf-metadata.md for every
 * rule): canonical-JSON-compatible input, required members and types,
 * `_type` equal to `expect` (0: any type), spec_version 1.x, versions ≥ 1,
 * expires exactly "YYYY-MM-DDTHH:MM:SSZ", keyids equal to sha256 of the
 * canonical key object (unless VF_TUF_PARSE_OPAQUE_KEYIDS), thresholds from
 * 1 to the number of keyids, role keyids present in the key set, target paths
 * without "", ".", ".." components or a leading "/", hashes sha256/sha512 hex.
 * Signatures are not checked here (vf_tuf_verify()).
 */
int vf_tuf_md_parse(const void *text, size_t len, enum vf_tuf_type expect, unsigned flags,
		    struct vf_tuf_md **ret, struct vf_err *err);

/** vf_tuf_md_parse() of a file of at most VF_TUF_MAX_FILE bytes; errors name the path. */
int vf_tuf_md_load(const char *path, enum vf_tuf_type expect, unsigned flags,
		   struct vf_tuf_md **ret, struct vf_err *err);

/**
 * Check that a document built or changed in memory is valid: exactly the
 * checks vf_tuf_md_parse() makes, on what vf_tuf_md_format() would write.
 */
int vf_tuf_md_validate(const struct vf_tuf_md *md, struct vf_err *err);

/** How vf_tuf_md_format() writes a document. */
enum vf_tuf_format {
	VF_TUF_FORMAT_PRETTY = 0, /**< one-space indentation, sorted keys, final newline */
	VF_TUF_FORMAT_CANONICAL,  /**< canonical JSON of the whole document (control
				       characters raw: not JSON for every parser) */
};

/** Append the whole document (validated first) to `out`. */
int vf_tuf_md_format(const struct vf_tuf_md *md, enum vf_tuf_format format, struct vf_buf *out,
		     struct vf_err *err);

/**
 * Append the canonical JSON of the `signed` part: the bytes signatures are
 * made over (what an offline signer must sign).
 */
int vf_tuf_md_format_signed(const struct vf_tuf_md *md, struct vf_buf *out, struct vf_err *err);

/** Write the pretty form to `path` atomically (mode 0644). */
int vf_tuf_md_save(const struct vf_tuf_md *md, const char *path, struct vf_err *err);

/** Whether the document has expired at `now`: now ≥ expires (as python-tuf). */
bool vf_tuf_md_is_expired(const struct vf_tuf_md *md, time_t now);

/** 0, or -VF_EVERIFY "<type> expired at <time> (now <time>)". */
int vf_tuf_md_verify_expiry(const struct vf_tuf_md *md, time_t now, struct vf_err *err);

/* ---- keys ----------------------------------------------------------------------- */

/**
 * Build the TUF key object for a public key:
 * {"keytype": ..., "keyval": {"public": ...}, "scheme": ...} (json_t *, new reference).
 * Nothing else is added (no keyid_hash_algorithms).
 */
int vf_tuf_key_build_json(const struct vf_key *key, void **ret_json, struct vf_err *err);

/** The keyid of a key object: lower-case hex sha256 of its canonical JSON. */
int vf_tuf_keyid_of_json(const void *key_json, char out[65], struct vf_err *err);

/** The keyid vforge gives a key: vf_tuf_keyid_of_json(vf_tuf_key_build_json(key)). */
int vf_tuf_keyid(const struct vf_key *key, char out[65], struct vf_err *err);

/**
 * Build a usable public key from a TUF key entry (for vf_key_verify()).
 * Accepts the legacy keytype "ecdsa-sha2-nistp256" as "ecdsa". Errors name
 * the keyid and what keys/ refused (unsupported scheme, bad PEM, ...).
 */
int vf_tuf_key_build_public(const struct vf_tuf_key *tkey, struct vf_key **ret,
			    struct vf_err *err);

/** Find a key by keyid in a key set; NULL when absent. */
const struct vf_tuf_key *vf_tuf_keys_find(const struct vf_tuf_keys *keys, const char *keyid);

/**
 * Find the keyid under which `keys` lists `key` (same public key), or NULL.
 * Useful to sign legacy metadata whose keyids vforge would compute otherwise.
 */
const char *vf_tuf_keys_find_key(const struct vf_tuf_keys *keys, const struct vf_key *key);

/* ---- roles and their keys ------------------------------------------------------- */

/**
 * Find a role a document delegates to: in root one of the four top-level
 * roles, in targets a delegated role by name. Succinct bins are not roles
 * here (see vf_tuf_succinct_has_role()). NULL when absent.
 */
const struct vf_tuf_role *vf_tuf_md_find_role(const struct vf_tuf_md *md, const char *name);

/** The key set of a delegating document (root keys, or delegations.keys); NULL if none. */
const struct vf_tuf_keys *vf_tuf_md_keys(const struct vf_tuf_md *md);

/**
 * Authorise `key` for `role`: in root a top-level role, in targets a
 * delegated role or, when `role` is the succinct name_prefix, the hash bins.
 * Adds the key object to the key set (if new) and its keyid to the role (if
 * not already there). A key the set already holds under another keyid (one
 * made by another tool's rule: keyids are opaque) keeps that keyid and key
 * object. *ret_keyid (may be NULL) points to the keyid, in the key set.
 * Errors: -ENOENT for an unknown role.
 */
int vf_tuf_md_add_key(struct vf_tuf_md *md, const char *role, const struct vf_key *key,
		      const char **ret_keyid, struct vf_err *err);

/**
 * Remove `keyid` from `role`; the key object goes too once no role uses it.
 * -ENOENT when the role does not exist or does not list the keyid.
 */
int vf_tuf_md_remove_key(struct vf_tuf_md *md, const char *role, const char *keyid,
			 struct vf_err *err);

/** Set a role's threshold (≥ 1; checked against its keys by vf_tuf_md_validate()). */
int vf_tuf_md_set_threshold(struct vf_tuf_md *md, const char *role, uint64_t threshold,
			    struct vf_err *err);

/* ---- targets and delegations ---------------------------------------------------- */

/**
 * Add or replace a target. `hashes` needs at least one hash; `custom` is a
 * json_t * (copied) or NULL. Adding in increasing path order is O(1) per
 * target, otherwise O(n): sort large batches first.
 */
int vf_tuf_targets_add_target(struct vf_tuf_md *md, const char *path, uint64_t length,
			      const struct vf_tuf_hashes *hashes, const void *custom,
			      struct vf_err *err);

/** Remove a target; -ENOENT when absent. */
int vf_tuf_targets_remove_target(struct vf_tuf_md *md, const char *path, struct vf_err *err);

/** Find a target by path (binary search); NULL when absent. */
const struct vf_tuf_target *vf_tuf_targets_find_target(const struct vf_tuf_md *md,
							 const char *path);

/**
 * Append a delegated role (lowest priority) with threshold 1 and no keys.
 * `patterns` are `paths` or, with `hash_prefixes`, `path_hash_prefixes`
 * (lower-case hex). -EEXIST for a duplicate name, -EINVAL for a top-level
 * name or when the delegations are succinct.
 */
int vf_tuf_targets_add_role(struct vf_tuf_md *md, const char *name,
			    const char *const *patterns, size_t n_patterns, bool hash_prefixes,
			    bool terminating, struct vf_err *err);

/** Remove a delegated role and the keys only it used; -ENOENT when absent. */
int vf_tuf_targets_remove_role(struct vf_tuf_md *md, const char *name, struct vf_err *err);

/**
 * Delegate to succinct hash bins (TAP 15): 2^bit_length roles named
 * vf_tuf_bin_name(name_prefix, bit_length, i), threshold 1, no keys yet (add
 * them with vf_tuf_md_add_key(md, name_prefix, ...)). Refused when the
 * document already delegates to named roles.
 */
int vf_tuf_targets_set_succinct(struct vf_tuf_md *md, const char *name_prefix,
				unsigned bit_length, struct vf_err *err);

/**
 * Whether a delegated role is trusted for `path`: a `paths` pattern matches
 * it segment by segment (as python-tuf: same number of "/"-separated parts,
 * fnmatch per part), or sha256(path) starts with a `path_hash_prefixes`
 * entry. Returns 1, 0 or a negative errno.
 */
int vf_tuf_role_has_path(const struct vf_tuf_role *role, const char *path);

/* ---- snapshot and timestamp ----------------------------------------------------- */

/**
 * Add or replace a `meta` entry. `length` < 0 omits the length, `hashes`
 * NULL omits the hashes. A timestamp holds only "snapshot.json".
 */
int vf_tuf_md_set_meta(struct vf_tuf_md *md, const char *name, uint64_t version, int64_t length,
		       const struct vf_tuf_hashes *hashes, struct vf_err *err);

/** Find a `meta` entry by name; NULL when absent. */
const struct vf_tuf_meta *vf_tuf_md_find_meta(const struct vf_tuf_md *md, const char *name);

/** Remove a `meta` entry; -ENOENT when absent. */
int vf_tuf_md_remove_meta(struct vf_tuf_md *md, const char *name, struct vf_err *err);

/* ---- hashes ----------------------------------------------------------------------- */

/** Hash a buffer: sha256 always, sha512 too when `sha512`. */
int vf_tuf_hashes_build(const void *data, size_t len, bool sha512, struct vf_tuf_hashes *ret,
			struct vf_err *err);

/** Hash a file (streamed); *ret_len gets its length. Errors name the path. */
int vf_tuf_hashes_build_file(const char *path, bool sha512, uint64_t *ret_len,
			     struct vf_tuf_hashes *ret, struct vf_err *err);

/**
 * Check data against every hash present (at least one must be).
 * -VF_EVERIFY "sha256 mismatch: expected ..., got ..." otherwise.
 */
int vf_tuf_hashes_verify(const struct vf_tuf_hashes *hashes, const void *data, size_t len,
			 struct vf_err *err);

/* ---- signatures ------------------------------------------------------------------- */

/**
 * Sign the document with each signer: keyid = vf_tuf_keyid(signer's key).
 * A signature with the same keyid is replaced, others are kept. The
 * document is validated first; nothing changes on failure.
 */
int vf_tuf_md_sign(struct vf_tuf_md *md, struct vf_signer *const *signers, size_t n,
		   struct vf_err *err);

/**
 * vf_tuf_md_sign() of each of the n_md documents with the same signers, on up
 * to `threads` threads when every signer may sign concurrently
 * (vf_signer_is_concurrent()), else one after the other. The documents are
 * signed as they would be one by one (the same bytes whatever the threads).
 * On failure the error is the lowest-numbered failing document's, prefixed
 * with its index: documents before it are signed, later ones may be.
 */
int vf_tuf_md_sign_many(struct vf_tuf_md *const *mds, size_t n_md,
			struct vf_signer *const *signers, size_t n, unsigned threads,
			struct vf_err *err);

/**
 * Add (or replace) a signature made elsewhere, e.g. offline over
 * vf_tuf_md_format_signed(). Not verified here: use vf_tuf_verify().
 */
int vf_tuf_md_add_signature(struct vf_tuf_md *md, const char *keyid, const uint8_t *sig,
			    size_t sig_len, struct vf_err *err);

/** Remove the signature by `keyid`; -ENOENT when there is none. */
int vf_tuf_md_remove_signature(struct vf_tuf_md *md, const char *keyid, struct vf_err *err);

/** Drop every signature (after changing a document). */
void vf_tuf_md_clear_signatures(struct vf_tuf_md *md);

/** What vf_tuf_verify() made of one entry of `signatures`. */
enum vf_tuf_sig_status {
	VF_TUF_SIG_VALID = 0,      /**< authorised keyid, signature verifies: counted */
	VF_TUF_SIG_INVALID,        /**< authorised keyid, signature does not verify */
	VF_TUF_SIG_UNAUTHORISED,   /**< keyid not authorised for the role */
	VF_TUF_SIG_DUPLICATE,      /**< keyid (or its public key) already counted */
	VF_TUF_SIG_EMPTY,          /**< "sig": "" (a keyholder who has not signed) */
	VF_TUF_SIG_BAD_KEY,        /**< the key cannot be used (unsupported or malformed) */
};

/** Text for a signature status ("valid", "invalid signature", ...). */
const char *vf_tuf_sig_status_name(enum vf_tuf_sig_status status);

/** The outcome of vf_tuf_verify(); release with vf_tuf_verify_result_release(). */
struct vf_tuf_verify_result {
	uint64_t threshold;              /**< required distinct valid signatures */
	char **valid;                    /**< keyids counted, in signature order */
	size_t n_valid;
	char **missing;                  /**< authorised keyids without a valid signature */
	size_t n_missing;
	enum vf_tuf_sig_status *status;  /**< one per md->sigs entry */
	size_t n_status;
};

/** Free what a result holds; it is then empty. Accepts a zeroed result. */
void vf_tuf_verify_result_release(struct vf_tuf_verify_result *res);

/**
 * Verify `md` as role `role` delegated by `delegator` (root for the top-level
 * roles, or the targets role that delegates `role`, by name or as a succinct
 * hash bin). Counts distinct authorised keyids whose signature verifies over
 * the canonical `signed`; unauthorised, duplicate, empty and failing
 * signatures do not count. The role's type must match (root/targets/...).
 * Returns 0 when the threshold is met; -VF_EVERIFY with a message listing the
 * count, the missing keyids and the ignored signatures when it is not, or when
 * `md` is not of the role's type; -ENOENT when `delegator` does not delegate
 * `role`; -EINVAL when the delegator is not root/targets or the role's
 * threshold is 0; another negative errno when verification could not run.
 * `res` (may be NULL) is filled in whenever signatures were examined; release
 * it in every case.
 */
int vf_tuf_verify(const struct vf_tuf_md *delegator, const char *role,
		  const struct vf_tuf_md *md, struct vf_tuf_verify_result *res,
		  struct vf_err *err);

/* ---- time ------------------------------------------------------------------------- */

/** Parse exactly "YYYY-MM-DDTHH:MM:SSZ" (UTC, no fractions, no offsets). */
int vf_tuf_time_parse(const char *text, time_t *ret, struct vf_err *err);

/** Format `t` as "YYYY-MM-DDTHH:MM:SSZ"; -ERANGE outside years 0001..9999. */
int vf_tuf_time_format(time_t t, char out[VF_TUF_TIME_LEN + 1]);

/* ---- hash bins (TAP 15, python-tuf SuccinctRoles) ---------------------------------- */

/** Bin of a target path: the top `bit_length` (1..32) bits of sha256(path). */
int vf_tuf_bin_index(const char *path, unsigned bit_length, uint32_t *ret, struct vf_err *err);

/**
 * Name of bin `index`: "<prefix>-<index as lower-case hex>", zero-padded to
 * the digits of 2^bit_length - 1 (e.g. "bins-0f" for 8 bits). *ret is malloc'd.
 */
int vf_tuf_bin_name(const char *prefix, unsigned bit_length, uint32_t index, char **ret,
		    struct vf_err *err);

/** The bin role for a target path: vf_tuf_bin_name(prefix, bits, vf_tuf_bin_index(path)). */
int vf_tuf_bin_name_for_path(const char *prefix, unsigned bit_length, const char *path,
			     char **ret, struct vf_err *err);

/** Whether `name` is one of the succinct roles' bins; *ret_index (may be NULL) gets its index. */
bool vf_tuf_succinct_has_role(const struct vf_tuf_succinct *s, const char *name,
			      uint32_t *ret_index);

/* ---- file names ------------------------------------------------------------------- */

/**
 * The file name of a role's metadata: percent-encoded role name (every byte
 * but A-Z a-z 0-9 - . _ ~, as python-tuf's quote(name, "")) + ".json",
 * prefixed with "<version>." when version > 0 (consistent snapshots; never
 * for timestamp). *ret is malloc'd.
 */
int vf_tuf_role_filename(const char *role, uint64_t version, char **ret, struct vf_err *err);

/**
 * The consistent-snapshot name of a target: "dir/<hex>.name" for "dir/name".
 * *ret is malloc'd.
 */
int vf_tuf_target_filename(const char *path, const char *hash_hex, char **ret,
			   struct vf_err *err);

#endif
