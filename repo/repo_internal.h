/**
 * @file repo_internal.h
 * @brief What repo.c (publishing) and repo_roles.c (delegated roles) share:
 *        the repository object and a few helpers. Not public API.
 */
#ifndef VF_REPO_REPO_INTERNAL_H
#define VF_REPO_REPO_INTERNAL_H

#include "repo/repo.h"

/* A target file written under the staging directory, renamed at publish. */
struct vf_repo_staged {
	char *tmp;   /* <repo>/.vforge-staging/<n> */
	char *final; /* <repo>/targets/[dir/]<sha256>.<base> */
	bool borrowed; /* tmp belongs to the stage: never removed on close */
};

/* A delegated targets role: loaded from the repository, or new. */
struct vf_repo_role {
	char *name;
	char *delegator;      /* the role that delegates it ("targets" or another) */
	struct vf_tuf_md *md;
	bool changed;         /* to sign and publish as version + 1 */
	bool removed;         /* its delegation was removed: drop it from snapshot */
	bool gone;            /* removed and published */
	bool presigned;       /* staged and signed offline: keep version, expiry, signatures */
	/*
	 * Signed, written to a temporary file of the pending batch, its snapshot
	 * entry set, and freed (md is NULL): nothing may load, change or re-sign
	 * it before the publish that renames the batch (vf_repo_publish_dirs()).
	 */
	bool unloaded;
};

/* Metadata files written to temporary names, renamed together at publish. */
struct vf_repo_batch {
	char **tmp, **final;
	size_t n;
};

struct vf_repo {
	char *dir, *mdir, *tdir, *sdir;
	int lock_fd;
	struct vf_repo_opts opts;
	struct vf_tuf_md *root, *targets, *snapshot, *timestamp;
	struct vf_tuf_md *new_root; /* to publish, or NULL */
	bool creating;
	bool targets_changed;
	bool targets_presigned;     /* targets was staged and signed offline */
	unsigned changed_keys;      /* roles whose keys/threshold the new root changes */
	struct vf_repo_staged *staged;
	size_t n_staged;
	uint64_t staged_seq;
	/*
	 * When set, a staged target file is moved to <sdir>/t/<its name in
	 * targets/> instead of being listed in `staged` (memory independent of
	 * the number of files); n_tree counts them.
	 */
	bool stage_tree;
	uint64_t n_tree;
	struct vf_repo_batch pending; /* delegated metadata signed ahead of a publish */
	struct vf_repo_role *roles; /* delegated roles loaded or created, in load order */
	size_t n_roles, cap_roles;
	char *selected;             /* the role target changes go to; NULL: automatic */
	size_t *bin_role;           /* hash bin i is roles[bin_role[i]], or SIZE_MAX */
	uint32_t n_bins;            /* 2^bit_length when targets delegates to bins */
};

/** Who may sign a role: keyids and threshold, and the key set holding them. */
struct vf_repo_authority {
	const char *role;
	const struct vf_tuf_md *delegator;  /* root, or the delegating targets document */
	char *const *keyids;
	size_t n_keyids;
	uint64_t threshold;
	const struct vf_tuf_keys *keys;
};

/** "<a>/<b>", malloc'd; NULL on ENOMEM. */
char *vf_repo_join(const char *a, const char *b);

/**
 * Load metadata/<name> of `type`, checking length and hashes against `pin`
 * (may be NULL); keyids are parsed as opaque names.
 */
int vf_repo_load_pinned(struct vf_repo *r, const char *name, enum vf_tuf_type type,
			const struct vf_tuf_meta *pin, struct vf_tuf_md **ret, struct vf_err *err);

/**
 * The document that holds (or will hold) target `path`: the selected role,
 * else the target's hash bin when targets delegates to bins, else targets.
 * *ret_changed is the flag to raise when the document changes. A selected
 * named role must be trusted for `path` along its whole delegation chain.
 */
int vf_repo_doc_for_target(struct vf_repo *r, const char *path, struct vf_tuf_md **ret_md,
			   bool **ret_changed, struct vf_err *err);

/** Find or load a delegated role by name (-ENOENT when nothing delegates it). */
int vf_repo_role_get(struct vf_repo *r, const char *name, struct vf_repo_role **ret,
		     struct vf_err *err);

/** Who may sign `role` (a top-level role or a delegated one, loading delegators). */
int vf_repo_authority_of(struct vf_repo *r, const char *role, struct vf_repo_authority *ret,
			 struct vf_err *err);

/** Write `text` to `path` atomically (temporary file, fsync, rename, fsync of the directory). */
int vf_repo_write_file(const char *path, const struct vf_buf *text, struct vf_err *err);


/** Append a role (the array may move). `md` is taken over on success. */
int vf_repo_role_push(struct vf_repo *r, const char *name, const char *delegator,
		      struct vf_tuf_md *md, bool changed, struct vf_repo_role **ret,
		      struct vf_err *err);

/** Free the delegated roles. */
void vf_repo_roles_free(struct vf_repo *r);

/**
 * Forget loaded roles (the bin index is rebuilt): with `clean`, hash bins
 * that are loaded and unchanged (they load again on demand); with
 * `unloaded`, the roles unloaded ahead of a publish that is now done.
 */
void vf_repo_roles_compact(struct vf_repo *r, bool clean, bool unloaded);

/** The hash bins of targets, or NULL when it does not delegate to bins. */
const struct vf_tuf_succinct *vf_repo_bins(const struct vf_repo *r);

/** Hash bin `index`'s loaded role, or NULL when it is not loaded. */
struct vf_repo_role *vf_repo_bin_role(struct vf_repo *r, uint32_t index);

/** Die here when VFORGE_TEST_CRASH_AT names `point` (docs/repo.md, test-only). */
void vf_repo_crash_point(const char *point);

/** The staging directory inside a repository, and below it target files by their names in targets/. */
#define STAGING_NAME ".vforge-staging"
#define STAGING_TREE "t"

/** fsync a directory (EINVAL, for file systems that cannot, is not an error). */
int vf_repo_fsync_dir(const char *path, struct vf_err *err);

/** Whether `path` is a directory (following symlinks). */
bool vf_repo_is_dir(const char *path);

/** Remove a batch's temporary files and free it (repo_publish.c); accepts an empty one. */
void vf_repo_batch_release(struct vf_repo_batch *b);

/**
 * What vf_repo_publish() checks before writing anything, for the roles that
 * are changed now (with `roles_changing`: as if delegated roles changed, so
 * snapshot and timestamp are checked too): every role to sign is signable
 * with `signers` (else -EACCES listing the keyids still needed per role)
 * and every top-level expiry is after now.
 */
int vf_repo_publish_check(struct vf_repo *r, struct vf_signer *const *signers, size_t n,
			  unsigned refresh, bool roles_changing, struct vf_err *err);

/**
 * Sign the changed delegated roles roles[idx[0..k)] (version + 1 and the
 * targets expiry, unless signed offline) with every authorised signer (on
 * every CPU when the signers allow it), write each to a temporary file of
 * the pending batch, set their snapshot entries (in idx's order), and unload
 * them. Call vf_repo_publish_check() first.
 */
int vf_repo_flush_roles(struct vf_repo *r, const size_t *idx, size_t k,
			struct vf_signer *const *signers, size_t n, struct vf_err *err);

#endif
