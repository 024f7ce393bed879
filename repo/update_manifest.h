/**
 * @file update_manifest.h
 * @brief The update manifest (the `manifest.json` target of a TUF repository)
 *        in Bottlerocket's shape: updates with their rollout waves and
 *        max_version, migrations; SemVer; which update a host takes and when.
 *
 * The model is independent of files and of the repository: parse a document,
 * change it, format it. docs/update-manifest.md describes the format.
 *
 *     {
 *       "migrations": { "(1.0.0, 1.1.0)": ["migrate_v1.1.0_x.lz4"] },
 *       "updates": [
 *         { "arch": "x86_64",
 *           "images": { "boot": "…-boot.ext4.zst", "hash": "…-root.verity.zst",
 *                       "root": "…-root.ext4.zst" },
 *           "max_version": "1.1.0", "variant": "demo", "version": "1.1.0",
 *           "waves": { "0": "2026-01-01T01:00:00Z", "20": "…", … } } ]
 *     }
 *
 * Publisher side:
 *
 *     vf_update_manifest_parse(text, len, &m, err);   // or m = vf_update_manifest_new()
 *     vf_waves_build_default(now, &waves, err);        // or vf_waves_parse_plan()
 *     u.waves = waves; ...
 *     vf_update_manifest_add_update(m, &u, err);        // copies u; rewrites max_version
 *     vf_update_manifest_format(m, &buf, err);
 *     vf_waves_release(&waves); vf_update_manifest_free(m);
 *
 * Client side (the updater): vf_update_manifest_find_update() applies
 * Bottlerocket updog's selection; vf_waves_is_ready() its wave check, with
 * the interpolation inside a wave fixed (see vf_waves_get_ready_time()).
 *
 * Versions are SemVer 2.0.0 and compared by precedence (build metadata
 * ignored). Seeds are 0..VF_WAVES_MAX_SEED. Times are whole seconds plus
 * nanoseconds (Bottlerocket's chrono times may carry fractions); readiness
 * compares whole seconds (a fraction counts as the next second).
 * Errors name the JSON path ("updates[2].waves[\"20\"]") or the argument.
 */
#ifndef VF_REPO_UPDATE_MANIFEST_H
#define VF_REPO_UPDATE_MANIFEST_H

#include "builder/base/buf.h"
#include "builder/base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Name of the manifest target in the repository. */
#define VF_UPDATE_MANIFEST_NAME "manifest.json"

/** Largest manifest.json read or written (16 MiB). */
#define VF_UPDATE_MANIFEST_MAX ((uint64_t)16 << 20)

/** Seeds are 0..VF_WAVES_MAX_SEED; hosts pick theirs in 0..VF_WAVES_MAX_SEED - 1. */
#define VF_WAVES_MAX_SEED 2048u

/** Longest version text accepted (as manifests/variant.schema.json). */
#define VF_UPDATE_VERSION_MAX 256

/* ---- versions (SemVer 2.0.0) ----------------------------------------------------- */

/**
 * Check that `version` is SemVer 2.0.0: MAJOR.MINOR.PATCH[-pre][+build],
 * numeric identifiers without leading zeros, at most VF_UPDATE_VERSION_MAX
 * bytes. -EINVAL quoting the text otherwise.
 */
int vf_update_manifest_version_check(const char *version, struct vf_err *err);

/**
 * Compare two valid versions by SemVer precedence: <0, 0 or >0. Numbers of
 * any length compare numerically; a pre-release sorts before its release;
 * pre-release identifiers compare field by field (numeric < alphanumeric,
 * numeric numerically, others by ASCII; more fields win a tie); build
 * metadata is ignored. Invalid input (a programmer error: check first) sorts
 * before valid input and compares by bytes.
 */
int vf_update_manifest_version_compare(const char *a, const char *b);

/* ---- waves ------------------------------------------------------------------------- */

/** One wave bound: hosts with seeds up to `seed` have the update by `time`. */
struct vf_wave {
	uint32_t seed;  /**< 0..VF_WAVES_MAX_SEED */
	time_t time;    /**< seconds since the epoch, UTC (years 0001..9999) */
	uint32_t nsec;  /**< 0..999999999: a fraction read from a foreign manifest */
};

/**
 * An update's waves, sorted by seed, seeds unique, times strictly increasing.
 * Empty: the update is for everyone at once.
 */
struct vf_waves {
	struct vf_wave *v;
	size_t n;
};

/** One step of a wave plan: `percentage` of the fleet from `time` on. */
struct vf_waves_step {
	time_t time;
	unsigned percentage; /**< 1..100 */
};

/** Initialise empty waves. */
void vf_waves_init(struct vf_waves *w);

/** Free the waves; they are empty and reusable afterwards. */
void vf_waves_release(struct vf_waves *w);

/** Replace *dst with a copy of *src. */
int vf_waves_copy(struct vf_waves *dst, const struct vf_waves *src, struct vf_err *err);

/**
 * Turn a plan into waves as Bottlerocket's pubsys does: step 0 gets seed 0,
 * step i > 0 gets floor(percentage[i-1] / 100 * 2048), each at its step's
 * time. Times and percentages must increase strictly, percentages be 1..100
 * and the last 100 (errors name the step as "waves[i]" and both values).
 */
int vf_waves_build(const struct vf_waves_step *steps, size_t n, struct vf_waves *ret,
		   struct vf_err *err);

/**
 * The default plan, Bottlerocket's default-waves.toml, starting at `start`:
 * 1 h 1 %, 4 h 5 %, 1 d 15 %, 2 d 40 %, 4 d 60 %, 5 d 90 %, 6 d 100 %; seeds
 * 0, 20, 102, 307, 819, 1228, 1843.
 */
int vf_waves_build_default(time_t start, struct vf_waves *ret, struct vf_err *err);

/**
 * Parse a wave plan file and build its waves:
 * {"waves": [{"start_after": "1h" | "<RFC 3339>", "fleet_percentage": 1..100}, ...]}
 * Durations count from `start`. Strict JSON, no other members, at least one
 * wave, at most 100; errors name the index ("waves[2].fleet_percentage").
 */
int vf_waves_parse_plan(const void *text, size_t len, time_t start, struct vf_waves *ret,
			struct vf_err *err);

/**
 * When a host with `seed` may take an update with these waves. Returns false
 * when it may at any time: there are no waves, or the seed is at most the
 * first wave's seed (Bottlerocket's "initial" wave). Otherwise returns true
 * with *ret_time:
 *   - seed above the last wave's seed: the last wave's time;
 *   - else, between wave s (last seed below `seed`) and wave e (first seed at
 *     or above it): time_s + (time_e - time_s) * (seed - seed_s) / (seed_e - seed_s),
 *     rounded down, so hosts spread evenly over the wave.
 * Bottlerocket multiplies by the absolute seed instead of (seed - seed_s),
 * which puts most hosts of later waves at their wave's end; vforge does not
 * (docs/update-manifest.md). Fractions of wave times round up to the second.
 */
bool vf_waves_get_ready_time(const struct vf_waves *w, uint32_t seed, time_t *ret_time);

/** Whether a host with `seed` may take the update at `now` (now ≥ its ready time). */
bool vf_waves_is_ready(const struct vf_waves *w, uint32_t seed, time_t now);

/**
 * Format a wave time as RFC 3339 UTC: "YYYY-MM-DDTHH:MM:SSZ", with 3, 6 or
 * 9 fraction digits when nsec is not 0 (as chrono writes it). -ERANGE
 * outside years 0001..9999.
 */
int vf_waves_format_time(time_t t, uint32_t nsec, char out[32]);

/* ---- the manifest ------------------------------------------------------------------ */

/** Image target names of an update. */
struct vf_update_images {
	char *boot;
	char *root;
	char *hash;
};

/** One update: a version of a variant for an arch. */
struct vf_update {
	char *variant;
	char *arch;
	char *version;      /**< SemVer */
	char *max_version;  /**< SemVer; hosts above it go back to the newest at or below it */
	struct vf_waves waves;
	struct vf_update_images images;
};

/** A migration edge: "(from, to)" -> migration target names, in order. */
struct vf_update_migration {
	char *from;
	char *to;
	char **names;
	size_t n_names;
};

/** A manifest. */
struct vf_update_manifest {
	struct vf_update *updates;   /**< in document order; new updates are appended */
	size_t n_updates;
	struct vf_update_migration *migrations; /**< sorted by (from, to) precedence, unique */
	size_t n_migrations;
};

/** A new empty manifest {"updates": [], "migrations": {}}; NULL on ENOMEM. */
struct vf_update_manifest *vf_update_manifest_new(void);

/** Free a manifest; accepts NULL and half-built manifests. */
void vf_update_manifest_free(struct vf_update_manifest *m);

/**
 * Parse manifest.json strictly: JSON as vf_cjson_parse() takes it (no
 * duplicate keys, no floats), at most VF_UPDATE_MANIFEST_MAX bytes; the top
 * level has exactly "updates" (array) and "migrations" (object); each update
 * exactly variant, arch, version, max_version, waves, images {boot, root,
 * hash}, no other members; versions SemVer; wave keys decimal seeds
 * 0..2048 without leading zeros, values RFC 3339 times ("Z" or an offset,
 * up to 9 fraction digits) strictly increasing with the seeds; image names
 * valid target names; no two updates with the same variant, arch and
 * version precedence; migration keys "(FROM, TO)" with SemVer versions
 * (Bottlerocket's pattern: optional spaces after the comma), unique, values
 * arrays of target names.
 */
int vf_update_manifest_parse(const void *text, size_t len, struct vf_update_manifest **ret,
			     struct vf_err *err);

/**
 * Append the manifest as JSON: two-space indentation, object keys in byte
 * order except wave seeds (numeric order) and migrations ((from, to) order,
 * written "(FROM, TO)"), times in UTC, a final newline. The same model gives
 * the same bytes; parse(format(m)) formats to the same bytes again.
 */
int vf_update_manifest_format(const struct vf_update_manifest *m, struct vf_buf *out,
			      struct vf_err *err);

/**
 * Add an update (copied; `u` stays the caller's). Its fields are checked as
 * the parser checks them. max_version: u->max_version when not NULL (lower
 * than u->version is allowed: that pulls releases back), else the greatest
 * of u->version and the max_version of every update of the same variant and
 * arch; then every update of that variant and arch gets it (Bottlerocket's
 * add_update). -EEXIST when an update of that variant and arch has a version
 * of the same precedence (naming variant, arch and both versions).
 */
int vf_update_manifest_add_update(struct vf_update_manifest *m, const struct vf_update *u,
				  struct vf_err *err);

/** Find the update of `variant`, `arch` and a version of the same precedence; NULL if none. */
const struct vf_update *vf_update_manifest_find(const struct vf_update_manifest *m,
						const char *variant, const char *arch,
						const char *version);

/** What a host asks vf_update_manifest_find_update(). */
struct vf_update_query {
	const char *variant;
	const char *arch;
	const char *current;      /**< the version the host runs (SemVer) */
	const char *version_lock; /**< NULL or "latest": the newest; else exactly this version */
	uint32_t seed;            /**< the host's seed, 0..VF_WAVES_MAX_SEED - 1 */
	time_t now;
	bool ignore_waves;        /**< take updates whose waves have not reached the seed */
};

/**
 * Updates a host may take (updog's applicable_updates): same variant and
 * arch, version at or below its max_version, waves ready for the seed at
 * `now` (unless ignore_waves); newest first. *ret (malloc'd array of
 * pointers into `m`, NULL when *ret_n is 0) is the caller's to free().
 */
int vf_update_manifest_list_applicable(const struct vf_update_manifest *m,
				       const struct vf_update_query *q,
				       const struct vf_update ***ret, size_t *ret_n,
				       struct vf_err *err);

/**
 * The update a host should install (updog's update_required), or NULL in
 * *ret when none: with a version lock, the applicable update of exactly that
 * version unless the host already runs it; otherwise the newest applicable
 * update newer than `current`, or, when `current` is above that update's
 * max_version (a pulled-back release), the newest applicable one (a
 * downgrade). -EINVAL when q->current or q->version_lock is not SemVer.
 */
int vf_update_manifest_find_update(const struct vf_update_manifest *m,
				   const struct vf_update_query *q, const struct vf_update **ret,
				   struct vf_err *err);

#endif
