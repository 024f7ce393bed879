/**
 * @file client.h
 * @brief The TUF client (specification 1.0.x, section 5 "Detailed client
 *        workflow"): a trusted state on disk, refreshed from a repository,
 *        and verified targets.
 *
 * Trusted state: `metadata_dir` holds `root.json`, `timestamp.json`,
 * `snapshot.json`, `targets.json` and `<role>.json` for delegated roles
 * (vf_tuf_role_filename(role, 0): percent-encoded, "/" included), each the
 * exact bytes received, unversioned, the layout python-tuf and tuf-js use. No
 * other `.json` file is created there (temporary files are `.<name>.tmp*`).
 *
 * Atomicity: vf_client_refresh() verifies everything in memory first and
 * changes the trusted state only when the whole refresh succeeded: then each
 * new file is written under a temporary name, fsync'd and renamed, in the
 * specification's order (root, timestamp, snapshot, targets), the directory
 * fsync'd. A failed refresh leaves every file as it was. A crash during the
 * renames leaves a state the specification allows (a prefix of the order).
 * When new root keys for timestamp or snapshot were rotated in (5.3.11), the
 * stale trusted files are removed at that point of the order.
 *
 * Delegated roles are fetched on demand by vf_client_find_target(), as the
 * specification's pre-order depth-first search (5.6.7): each verified
 * delegated role is persisted (atomically, one file) when it is loaded.
 *
 * Every verification failure is -VF_EVERIFY with a message naming the role
 * (file), the check and the values, e.g.
 *   "timestamp.json: version 3 is lower than the trusted version 5 (rollback attack)"
 *   "snapshot.json: expired at 2026-01-01T00:00:00Z (now 2026-11-28T12:00:00Z): freeze attack"
 *   "targets.json: sha256 differs from snapshot.json's: expected ..., got ..."
 * Download problems keep the fetcher's codes (-ENOENT, -EIO, -ETIMEDOUT, ...),
 * except that more bytes than a download may have is -VF_EVERIFY ("endless
 * data attack"): for metadata the length its referrer gives, else the
 * configured maximum for its type; for a target its length. Downloaded
 * metadata that the parser refuses is -VF_EVERIFY as well.
 */
#ifndef VF_REPO_CLIENT_H
#define VF_REPO_CLIENT_H

#include "builder/base/err.h"
#include "repo/fetcher.h"
#include "repo/metadata.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Defaults (python-tuf's ngclient uses the same numbers). */
#define VF_CLIENT_MAX_ROOT_ROTATIONS 256
#define VF_CLIENT_MAX_DELEGATIONS 32
#define VF_CLIENT_ROOT_MAX_LEN ((uint64_t)512 << 10)
#define VF_CLIENT_TIMESTAMP_MAX_LEN ((uint64_t)16 << 10)
#define VF_CLIENT_SNAPSHOT_MAX_LEN ((uint64_t)32 << 20)   /**< when timestamp gives no length */
#define VF_CLIENT_TARGETS_MAX_LEN ((uint64_t)64 << 20)    /**< when snapshot gives no length */

struct vf_client_opts {
	const char *metadata_dir;   /**< the trusted state (must exist) */
	const char *metadata_url;   /**< base URL of the metadata ("…/metadata/" or without '/') */
	const char *targets_url;    /**< base URL of the targets; NULL: targets cannot be fetched */
	/**
	 * First use: a root.json to trust when metadata_dir has none (copied
	 * there byte for byte on the first successful refresh). When metadata_dir
	 * already has root.json this is ignored, never a way to replace it.
	 */
	const char *trusted_root;
	unsigned max_root_rotations; /**< 0: VF_CLIENT_MAX_ROOT_ROTATIONS */
	/** Roles one search visits, targets included (as python-tuf); 0: VF_CLIENT_MAX_DELEGATIONS. */
	unsigned max_delegations;
	time_t now;                  /**< the fixed "current time" of 5.3.1; the caller reads the clock */
	struct vf_fetcher *fetcher;  /**< the caller's; used for every download */
	uint64_t root_max_len, timestamp_max_len, snapshot_max_len, targets_max_len; /**< 0: defaults */
};

struct vf_client;

/**
 * Load the trusted state: root.json from metadata_dir (else trusted_root),
 * which must be a valid root signed by its own root threshold (else
 * -VF_EVERIFY); timestamp/snapshot/targets.json when present and valid under
 * that root (a local file that no longer verifies is ignored, as python-tuf
 * does, and will be replaced). Nothing is downloaded or written.
 */
int vf_client_open(const struct vf_client_opts *opts, struct vf_client **ret, struct vf_err *err);

/** Free the client; accepts NULL. */
void vf_client_free(struct vf_client *c);

/**
 * The whole top-level refresh: root chain (5.3, with expired intermediate
 * roots allowed, only the final one checked for expiry), timestamp (5.4),
 * snapshot (5.5), targets (5.6). Rollback, freeze, mix-and-match, lengths
 * and hashes as the specification says. Persisted only on success (above).
 * A trusted document that is exactly what its referrer pins (version, and
 * length and hashes when given) is kept without downloading it again. After a
 * failure, find/download/stream refuse (-EINVAL) until a refresh succeeds.
 */
int vf_client_refresh(struct vf_client *c, struct vf_err *err);

/** The trusted document of a top-level role after open/refresh, or NULL. */
const struct vf_tuf_md *vf_client_trusted(const struct vf_client *c, enum vf_tuf_type type);

/** What vf_client_refresh() did, for reports: versions before (0: none) and after. */
struct vf_client_change {
	enum vf_tuf_type type;
	uint64_t old_version, new_version;
};

/**
 * The changes of the last successful refresh, one per top-level role in spec
 * order (root, timestamp, snapshot, targets); none (NULL, 0) after a failed
 * one. On first use root's old_version is 0 (trusted_root was not yet part of
 * the trusted state).
 */
const struct vf_client_change *vf_client_changes(const struct vf_client *c, size_t *ret_n);

/**
 * Find `path` (5.6.7): top-level targets first, then delegations in
 * pre-order depth-first order, honouring paths, path_hash_prefixes,
 * succinct hash bins and terminating roles, at most max_delegations roles
 * visited. Each delegated role is loaded from metadata_dir if it is there
 * and still matches snapshot (version, and length/hashes when snapshot has
 * them), else downloaded, verified against its delegator, snapshot and the
 * clock, and persisted. *ret points into the client (valid until it is
 * freed); *ret_role (may be NULL) is the role that listed it ("targets" for
 * the top-level role), valid as long. A role is only searched for paths its
 * delegation (and every one above it) covers, so a target a role lists
 * outside its delegation is never returned. -ENOENT "target 'x' is not in
 * the repository (searched: targets, bins-3a)" when no role lists it; a
 * delegated role met on the way that fails a check stops the search
 * (-VF_EVERIFY naming it). Requires a successful refresh first (-EINVAL).
 */
int vf_client_find_target(struct vf_client *c, const char *path,
			  const struct vf_tuf_target **ret, const char **ret_role,
			  struct vf_err *err);

/**
 * Download a target found by vf_client_find_target() to `out_path`
 * (written as `.<name>.tmp*` in the same directory, fsync'd, renamed; the
 * directory is created if missing). With consistent snapshots the URL is
 * `<targets_url>/<dir>/<sha256>.<name>` (sha512 when the target has no
 * sha256), else `<targets_url>/<path>`. More than the target's length is
 * -VF_EVERIFY (endless data), a hash or length mismatch -VF_EVERIFY; nothing
 * is left at out_path then. When out_path already exists with the right
 * length and every hash, nothing is downloaded and *ret_cached (may be NULL)
 * is set.
 */
int vf_client_download_target(struct vf_client *c, const struct vf_tuf_target *t,
			      const char *out_path, bool *ret_cached, struct vf_err *err);

/**
 * Stream a target to `sink` as it downloads (for writing straight to a
 * partition): at most its length, hashes checked at the end. Returns 0 only
 * when length and every hash matched; on -VF_EVERIFY the sink has seen
 * unverified bytes and the caller must discard what it wrote.
 */
int vf_client_stream_target(struct vf_client *c, const struct vf_tuf_target *t, vf_fetch_sink sink,
			    void *ctx, struct vf_err *err);

#endif
