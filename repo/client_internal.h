/**
 * @file client_internal.h
 * @brief repo/: what client.c (the trusted state and its refresh) and
 *        client_targets.c (delegated roles, the target search, downloads)
 *        share. Not public API.
 */
#ifndef VF_REPO_CLIENT_INTERNAL_H
#define VF_REPO_CLIENT_INTERNAL_H

#include "builder/base/buf.h"
#include "builder/base/err.h"
#include "repo/client.h"
#include "repo/metadata.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define VF_CLIENT_N_TOP VF_TUF_N_TOP_ROLES
/** Index of a top-level type in arrays of VF_CLIENT_N_TOP. */
#define VF_CLIENT_IDX(type) ((int)(type) - 1)

/** A metadata document and the exact bytes it was parsed from. */
struct vf_client_doc {
	struct vf_tuf_md *md;
	struct vf_buf bytes;
};

/** A delegated role loaded by vf_client_find_target(). */
struct vf_client_loaded {
	char *name;
	char *delegator;          /**< the role whose keys verified it */
	struct vf_tuf_md *md;
};

struct vf_client {
	char *dir, *metadata_url, *targets_url;
	unsigned max_root_rotations, max_delegations;
	time_t now;
	struct vf_fetcher *f;
	uint64_t max_len[VF_CLIENT_N_TOP + 1];         /**< by type */
	bool root_on_disk;                              /**< metadata_dir/root.json exists */
	struct vf_client_doc top[VF_CLIENT_N_TOP];      /**< the trusted documents, by type - 1 */
	bool refreshed;                                 /**< the last refresh succeeded */
	struct vf_client_loaded *roles;                 /**< sorted by name */
	size_t n_roles;
	struct vf_tuf_md **retired; /**< replaced documents, freed with the client */
	size_t n_retired, cap_retired;
	struct vf_client_change changes[VF_CLIENT_N_TOP];
	size_t n_changes;
};

static inline int vf_client_nomem(struct vf_err *err)
{
	return vf_err_set(err, ENOMEM, "out of memory");
}

static inline void vf_client_doc_release(struct vf_client_doc *d)
{
	vf_tuf_md_free(d->md);
	d->md = NULL;
	vf_buf_release(&d->bytes);
}

/** "a/b", malloc'd; NULL on ENOMEM. */
static inline char *vf_client_join(const char *a, const char *b)
{
	char *s;

	return asprintf(&s, "%s/%s", a, b) < 0 ? NULL : s;
}

/**
 * Turn the error in `err` (code r) into a verification failure whose message
 * is "<prefix>: <old message>"; -ENOMEM stays what it is. Returns the code.
 */
int vf_client_as_verify(struct vf_err *err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Read a whole local file of at most `max` bytes into `out` (symlinks not
 * followed). -ENOENT without a message when it does not exist; other errors
 * name the path.
 */
int vf_client_read_local(const char *path, uint64_t max, struct vf_buf *out, struct vf_err *err);

/** Replace dir/name with `b` atomically (".<name>.tmp.XXXXXX", fsync, rename, fsync dir). */
int vf_client_write_local(const char *dir, const char *name, const struct vf_buf *b,
			  struct vf_err *err);

/**
 * Download metadata file `file` (relative to metadata_url) into `out`, at
 * most `max` bytes; more is -VF_EVERIFY (endless data), `limit_by` saying
 * where the limit comes from ("length 3.snapshot.json gives").
 */
int vf_client_fetch_md(struct vf_client *c, const char *file, uint64_t max, const char *limit_by,
		       struct vf_buf *out, struct vf_err *err);

/** Check bytes against the length and hashes a snapshot/timestamp entry gives (`by` lists it). */
int vf_client_check_pinned(const char *file, const struct vf_tuf_meta *m, const char *by,
			   const struct vf_buf *b, struct vf_err *err);

/**
 * Whether a trusted document and its bytes are exactly what entry `m` names
 * (version, and length and hashes when given). Fails only for ENOMEM/EIO.
 */
int vf_client_matches_pin(const struct vf_tuf_md *md, const struct vf_buf *b,
			  const struct vf_tuf_meta *m, bool *ret);

/** Parse downloaded bytes (opaque keyids); what the parser refuses is -VF_EVERIFY. */
int vf_client_parse_md(const char *file, enum vf_tuf_type type, const struct vf_buf *b,
		       struct vf_tuf_md **ret, struct vf_err *err);

/** The signatures of `md` as `role` under `delegator` (`whose` names it in messages). */
int vf_client_check_sigs(const struct vf_tuf_md *delegator, const char *role,
			 const struct vf_tuf_md *md, const char *file, const char *whose,
			 struct vf_err *err);

/** "<file>: expired at <t> (now <t>): freeze attack" when expired at `now`. */
int vf_client_check_expiry(const struct vf_tuf_md *md, const char *file, time_t now,
			   struct vf_err *err);

/** The version `m` (listed by `by`) pins. */
int vf_client_check_version(const struct vf_tuf_md *md, const char *file,
			    const struct vf_tuf_meta *m, const char *by, struct vf_err *err);

/** The delegated role `name` in the client's cache, or NULL (*ret_pos: where it would go). */
struct vf_client_loaded *vf_client_role_find(const struct vf_client *c, const char *name,
					     size_t *ret_pos);

#endif
