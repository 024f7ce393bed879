/**
 * @file repo.h
 * @brief A TUF repository on disk: create it, change its targets, re-sign and
 *        publish atomically under a lock; validate it from a trusted root;
 *        list expirations.
 *
 * Layout (consistent snapshots, static files any web server can serve):
 *
 *     <dir>/metadata/<N>.root.json        every root version, kept forever
 *     <dir>/metadata/<N>.targets.json     every published version
 *     <dir>/metadata/<N>.snapshot.json    every published version
 *     <dir>/metadata/timestamp.json       the only file replaced in place
 *     <dir>/targets/[sub/]<sha256>.<name> target files (content-addressed)
 *     <dir>/.vforge.lock                  publisher lock (not served)
 *
 * Publishing order: target files (written, fsync'd, renamed), root, then
 * targets, then snapshot metadata as new versioned files, timestamp.json
 * last by rename; directories fsync'd. A crash at any point leaves the old
 * timestamp.json naming old, complete metadata, or the new one naming new,
 * complete metadata: clients accept either.
 *
 * Sequences:
 *
 *     vf_repo_create(dir, root, &opts, &r, err);          // or vf_repo_open()
 *     vf_repo_add_target_file(r, "os.img.zst", "os.img.zst", NULL, err);
 *     vf_repo_publish(r, signers, n, 0, err);              // targets, snapshot, timestamp
 *     vf_repo_close(r);                                   // releases the lock
 *
 *     vf_repo_open(dir, &opts, &r, err);
 *     vf_repo_publish(r, signers, n, VF_REPO_ROLE(VF_TUF_TIMESTAMP), err); // refresh
 *
 * Test-only hook: when the environment variable VFORGE_TEST_CRASH_AT names a
 * crash point (see docs/repo.md), the publisher kills itself with SIGKILL
 * there; the crash-safety test uses it. Unset in production, it costs a
 * getenv().
 */
#ifndef VF_REPO_REPO_H
#define VF_REPO_REPO_H

#include "builder/base/buf.h"
#include "builder/base/err.h"
#include "keys/key.h"
#include "repo/metadata.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Default lifetimes: root 1 year, targets 3 months (90 days), snapshot 2 weeks, timestamp 1 week. */
#define VF_REPO_LIFETIME_ROOT (365 * 86400)
#define VF_REPO_LIFETIME_TARGETS (90 * 86400)
#define VF_REPO_LIFETIME_SNAPSHOT (14 * 86400)
#define VF_REPO_LIFETIME_TIMESTAMP (7 * 86400)

/** The default lifetime (seconds) of a top-level role type. */
int64_t vf_repo_default_lifetime(enum vf_tuf_type type);

/** Name of the lock file in the repository directory. */
#define VF_REPO_LOCK_NAME ".vforge.lock"

/** The bit of a top-level role in a role mask. */
#define VF_REPO_ROLE(type) (1u << (type))

/** Largest target file vforge hashes and copies (64 GiB). */
#define VF_REPO_MAX_TARGET ((uint64_t)64 << 30)

/** How a repository is opened and what new metadata looks like. */
struct vf_repo_opts {
	time_t now;            /**< the clock: expiry = now + lifetime; checks "expired" */
	/**
	 * Absolute expiry per top-level type (index type - 1; the root entry is
	 * unused: root.json is built with `vforge root`). 0: now + default.
	 */
	time_t expires[VF_TUF_N_TOP_ROLES];
	/** Seconds to wait for the lock: 0 fails at once, < 0 waits forever. */
	int lock_wait_s;
};

/**
 * Parse a point in time for --expires: RFC 3339 ("2027-01-31T00:00:00Z",
 * "2027-01-31T01:00:00+01:00"; fractional seconds refused, the result is
 * whole seconds UTC) or a duration after `now`: one or more "<n><unit>" with
 * unit s, m, h, d, w or y (365 days), e.g. "7d", "1y", "12h30m".
 * Errors quote the text and say what was expected.
 */
int vf_repo_parse_when(const char *text, time_t now, time_t *ret, struct vf_err *err);

/** Parse a duration only ("7d", "12h30m"); seconds into *ret. */
int vf_repo_parse_duration(const char *text, int64_t *ret, struct vf_err *err);

/**
 * Check a target name: relative UTF-8 path, 1..4095 bytes, segments separated
 * by single "/", none empty, "." or "..", no leading "/", no "\\" and no
 * control characters, NFC (canonical JSON). Errors quote the name and say why.
 */
int vf_repo_check_target_name(const char *name, struct vf_err *err);

/** An open repository (holds the lock until vf_repo_close()). */
struct vf_repo;

/**
 * Create a repository in `dir` (created if missing; must hold no metadata/
 * or targets/ yet) from a signed root. The root must meet its own root
 * threshold (else -VF_EVERIFY naming the keyids still needed), must not be
 * expired at opts->now, and must have consistent_snapshot true. Nothing is
 * written but the lock until vf_repo_publish(), which writes
 * <version>.root.json and version 1 of targets, snapshot and timestamp.
 */
int vf_repo_create(const char *dir, const struct vf_tuf_md *root, const struct vf_repo_opts *opts,
		   struct vf_repo **ret, struct vf_err *err);

/**
 * Open an existing repository: take the lock (waiting as opts says; the
 * error names the lock file and the pid holding it), remove temporary files
 * a killed publisher left, and load the newest root, timestamp.json and the
 * snapshot and targets versions it names. Fails when these are missing or
 * inconsistent (names the file and the value).
 */
int vf_repo_open(const char *dir, const struct vf_repo_opts *opts, struct vf_repo **ret,
		 struct vf_err *err);

/** Release the lock and free; unpublished changes and staged files are dropped. */
void vf_repo_close(struct vf_repo *r);

/**
 * The current documents. Before vf_repo_publish() the targets document
 * already holds the changes staged with vf_repo_add_target_*() and
 * vf_repo_remove_target() (its version and signatures are the old ones);
 * after it, the published documents.
 */
const struct vf_tuf_md *vf_repo_root(const struct vf_repo *r);
const struct vf_tuf_md *vf_repo_targets(const struct vf_repo *r);
const struct vf_tuf_md *vf_repo_snapshot(const struct vf_repo *r);
const struct vf_tuf_md *vf_repo_timestamp(const struct vf_repo *r);

/** The repository directory as given. */
const char *vf_repo_dir(const struct vf_repo *r);

/**
 * Add or replace target `name` (vf_repo_check_target_name()) with the
 * content of `file` (regular file, at most VF_REPO_MAX_TARGET bytes): hashed
 * (sha256) and staged as targets/<dir/><sha256>.<base> for the next publish.
 * `custom` is a json_t * (copied) or NULL.
 */
int vf_repo_add_target_file(struct vf_repo *r, const char *file, const char *name,
			    const void *custom, struct vf_err *err);

/** As vf_repo_add_target_file(), from memory. */
int vf_repo_add_target_data(struct vf_repo *r, const char *name, const void *data, size_t len,
			    const void *custom, struct vf_err *err);

/**
 * Add every regular file below `dir` as a target named by its path relative
 * to `dir` (as vf_repo_add_target_file(), no custom), in name order. The
 * files are listed in memory first: for a repository whose targets delegate
 * to hash bins, vf_repo_publish_dirs() adds and publishes in bounded memory.
 * Symbolic links, devices and other non-regular files are refused, naming
 * the path, before any file is added.
 */
int vf_repo_add_target_dir(struct vf_repo *r, const char *dir, struct vf_err *err);

/** Targets per group of hash bins in vf_repo_publish_dirs() (see there). */
#define VF_REPO_BIN_GROUP_TARGETS 65536

/**
 * Add every regular file below each of `dirs` (as vf_repo_add_target_dir();
 * a later directory replaces a name an earlier one gave) and publish as
 * vf_repo_publish(signers, n, refresh) does, together with the changes made
 * before.
 *
 * When targets delegates to hash bins and no role is selected, memory stays
 * bounded whatever the number of files (it grows with the number of bins,
 * the depth of the directories and the number of targets per group):
 *
 *  1. a first walk (readdir, nothing kept) counts the files and checks their
 *     names and types: a bad one fails here, before anything is staged;
 *  2. the bins are split into G contiguous groups, G = ceil((files + the
 *     targets the bins hold already, estimated from their snapshot lengths)
 *     / VF_REPO_BIN_GROUP_TARGETS);
 *  3. for each group, the directories are walked again and the files whose
 *     bin falls in the group are hashed and staged, not listed in memory:
 *     they wait under .vforge-staging/ by their names in targets/. Then each
 *     bin of the group that changed is signed, written to a temporary file
 *     in metadata/ (not yet visible), given its snapshot entry, and freed;
 *     the bins loaded unchanged are freed too. Before the first bin is
 *     signed, every role the publish will sign is checked as
 *     vf_repo_publish() checks (thresholds, expiry): nothing is written in
 *     metadata/ when a threshold falls short;
 *  4. the publish completes in the usual order: target files renamed into
 *     targets/, the bins' files renamed, then targets (when it changed),
 *     snapshot and timestamp.json last.
 *
 * A crash or a failure anywhere before the last rename of step 4 leaves the
 * repository as it was for clients (temporary files are removed by the next
 * publisher). The files must not change during the call. Otherwise (no
 * bins, or vf_repo_select_role() named a role) the files are added in memory
 * and published. After a failure nothing is published: close the
 * repository. The test-only environment variable VFORGE_TEST_BIN_GROUP_TARGETS
 * replaces VF_REPO_BIN_GROUP_TARGETS (tests force many groups with it).
 */
int vf_repo_publish_dirs(struct vf_repo *r, const char *const *dirs, size_t n_dirs,
			 struct vf_signer *const *signers, size_t n, unsigned refresh,
			 struct vf_err *err);

/** Remove a target from targets.json; -ENOENT (naming it) when absent. */
int vf_repo_remove_target(struct vf_repo *r, const char *name, struct vf_err *err);

/* ---- delegations (repo/repo_roles.c) ------------------------------------------------ */

/**
 * Choose the role that the following target changes (add, remove, read) go
 * to: "targets", or a delegated role (loaded on demand, its signatures
 * checked against its delegator). NULL restores the default: a target's
 * hash bin when targets delegates to bins, else targets. A target added to
 * a named role must match its paths along the whole delegation chain.
 */
int vf_repo_select_role(struct vf_repo *r, const char *role, struct vf_err *err);

/**
 * Delegate `role` from `from` (NULL: targets) for `paths` (shell-style
 * patterns, `*` and `?` within one segment) to `keys` with `threshold`
 * (1..distinct keys). The delegator is re-signed, and the new role's first,
 * empty version is published with it (so its own keys must sign too).
 * -EEXIST when a role of that name exists.
 */
int vf_repo_add_delegation(struct vf_repo *r, const char *from, const char *role,
			   const char *const *paths, size_t n_paths,
			   const struct vf_key *const *keys, size_t n_keys, uint64_t threshold,
			   bool terminating, struct vf_err *err);

/**
 * Delegate from targets to 2^bit_length succinct hash bins (TAP 15) named
 * "<prefix>-<hex index>" (bit_length 1..16), all trusted to `keys` with
 * `threshold`. Every bin is published (empty or with the targets that
 * targets.json listed, which move to their bins); later target changes go to
 * the target's bin only. Refused when targets already delegates.
 */
int vf_repo_add_bins(struct vf_repo *r, const char *prefix, unsigned bit_length,
		     const struct vf_key *const *keys, size_t n_keys, uint64_t threshold,
		     struct vf_err *err);

/**
 * Remove the delegation of `role` (from its delegator, or `from` when not
 * NULL). Its snapshot entry stays at its last version: clients refuse a
 * snapshot that drops a file their trusted one lists (TUF 5.5.5). Refused
 * for a role that delegates further (remove those first) and for hash bins.
 */
int vf_repo_remove_delegation(struct vf_repo *r, const char *from, const char *role,
			      struct vf_err *err);

/**
 * Read the current content of target `name` (at most `max` bytes) into
 * `out`, checking its length and sha256 against targets.json; -ENOENT when
 * there is no such target.
 */
int vf_repo_read_target(struct vf_repo *r, const char *name, uint64_t max, struct vf_buf *out,
			struct vf_err *err);

/**
 * Publish `root` (copied) as the next root version with the next
 * vf_repo_publish(): its version must be the current root's + 1 and it must
 * meet the root threshold of the current root and its own (cross-signing),
 * else -VF_EVERIFY listing what is missing. Roles whose keys or threshold
 * changed in the new root are re-signed at publish; when the timestamp or
 * snapshot keys changed, clients discard their trusted copies (spec 5.3.11).
 */
int vf_repo_set_root(struct vf_repo *r, const struct vf_tuf_md *root, struct vf_err *err);

/**
 * Sign and publish. Roles re-signed: those whose content changed (targets
 * after target changes; a new root), plus those in `refresh` (a mask of
 * VF_REPO_ROLE(VF_TUF_TARGETS|SNAPSHOT|TIMESTAMP)), each cascading to the
 * roles that pin it (targets -> snapshot -> timestamp). Each gets version + 1
 * and expiry from opts. Before anything is written, every such role must be
 * signable: the signers authorised for it in root (by keyid) must meet its
 * threshold, else an error per role "targets: threshold 2, 1 key given
 * (ab12...); still needed one of: cd34..., ef56..." and nothing changes.
 * Every authorised signer given signs. An expiry at or before opts->now is
 * refused. Signers authorised for no role being published are ignored.
 */
int vf_repo_publish(struct vf_repo *r, struct vf_signer *const *signers, size_t n,
		    unsigned refresh, struct vf_err *err);

/* ---- staged offline signing (repo/repo_stage.c) ------------------------------------ */

/** The staging area in the repository directory (not served). */
#define VF_REPO_STAGE_DIR "staged"

/**
 * Stage the pending changes instead of publishing them: every targets-type
 * document that changed (targets, delegated roles, new roles; plus targets
 * when `refresh` has VF_REPO_ROLE(VF_TUF_TARGETS)) gets version + 1 and its
 * expiry, and is written UNSIGNED to <dir>/staged/metadata/<N>.<role>.json;
 * staged target files go to <dir>/staged/targets/, and staged/stage.json
 * records what the stage is based on. Key holders sign copies of the staged
 * files (vforge metadata sign) and merge them back in place; then
 * vf_repo_publish_staged(). The staged files' paths (relative to the
 * repository) go to *ret_files (NULL-terminated, malloc'd; may be NULL).
 * -EEXIST when a stage exists; -ENODATA when nothing changed.
 */
int vf_repo_stage(struct vf_repo *r, unsigned refresh, char ***ret_files, struct vf_err *err);

/**
 * Publish the stage: it must be based on the current timestamp and root
 * versions (else -ESTALE: discard and stage again). Each staged document
 * keeps its offline signatures, gains those of the given signers it
 * authorises, and must meet its threshold, else nothing is written and the
 * error names each role and the keyids still needed. Snapshot and timestamp
 * are then signed with the given signers, and the stage is removed. After
 * a failure the repository object holds the staged documents: close it.
 */
int vf_repo_publish_staged(struct vf_repo *r, struct vf_signer *const *signers, size_t n,
			   struct vf_err *err);

/** Remove the stage (-ENOENT when there is none). */
int vf_repo_discard_staged(struct vf_repo *r, struct vf_err *err);

/* ---- validation (repo/validate.c) --------------------------------------------------- */

/** Called once per problem found by vf_repo_validate(). */
typedef void (*vf_repo_report_fn)(void *ctx, const char *file, const char *msg);

/**
 * Verify the repository in `dir` as a TUF client would, from `trusted_root`
 * (spec section 5, on the files): the root chain N+1.root.json... (threshold
 * of the old and the new root, version N+1), the final root's expiry,
 * timestamp (signatures, expiry, snapshot version), snapshot (length and
 * hashes from timestamp, signatures, version, expiry), targets and every
 * delegated role snapshot lists (length/hashes, signatures by the delegator's
 * keys, version, expiry), and every target file (present under its
 * consistent name, length and every hash). Carries on after a problem where
 * it can, calling `report` for each. Returns 0 when there is none,
 * -VF_EVERIFY when there were (count in *ret_problems), another negative
 * errno when it could not run at all. Never writes.
 */
int vf_repo_validate(const char *dir, const struct vf_tuf_md *trusted_root, time_t now,
		     vf_repo_report_fn report, void *ctx, size_t *ret_problems,
		     struct vf_err *err);

/** One role's expiry as vf_repo_expirations() lists it. */
struct vf_repo_expiry {
	char *role;      /**< "root", "timestamp", "snapshot", "targets" or a delegated name */
	char *file;      /**< file it was read from, relative to the repository */
	uint64_t version;
	time_t expires;
};

/**
 * The expiry of every role of the repository's current state (newest root,
 * timestamp, the snapshot and targets it names, delegated roles in
 * snapshot), read without the lock and without checking signatures. Free
 * with vf_repo_expirations_free().
 */
int vf_repo_expirations(const char *dir, struct vf_repo_expiry **ret, size_t *ret_n,
			struct vf_err *err);

void vf_repo_expirations_free(struct vf_repo_expiry *v, size_t n);

#endif
