/**
 * @file compose.h
 * @brief Pipeline stage 1: a validated manifest to a hermetic, labelled file tree.
 *
 * vf_compose() does, in order: check every package's sha256 pin, import the
 * packages (sorted by name) into a new tree, decide SOURCE_DATE_EPOCH, apply
 * `remove` to what the packages laid down, add the manifest's directories,
 * files and symlinks and the update trust anchor (root.json), clamp every
 * mtime to SOURCE_DATE_EPOCH, label every entry for SELinux, and run the
 * policy. Policy violations do not fail
 * the call: they are returned in `ret->policy` for the caller to report
 * (lint lists them, build refuses to continue).
 *
 * SOURCE_DATE_EPOCH comes from opts (the CLI passes the environment's), else
 * the manifest, else the newest mtime recorded inside the pinned inputs, so it
 * is a function of the inputs alone. Nothing on the host is read but the files
 * the manifest names, and nothing is written outside `workdir`.
 */
#ifndef VF_IMAGE_COMPOSE_H
#define VF_IMAGE_COMPOSE_H

#include "builder/base/err.h"
#include "builder/manifest/manifest.h"
#include "builder/tree/policy.h"
#include "builder/tree/tree.h"

#include <stdbool.h>
#include <stdint.h>

/** Where SOURCE_DATE_EPOCH came from. */
enum vf_sde_source {
	VF_SDE_ENV = 1,      /**< the caller's environment */
	VF_SDE_MANIFEST,     /**< the manifest's source_date_epoch */
	VF_SDE_INPUTS,       /**< the newest mtime inside the pinned inputs */
};

struct vf_compose_opts {
	bool has_sde;        /**< SOURCE_DATE_EPOCH given by the caller */
	int64_t sde;
};

/** One input the composed tree depends on (for build reports). */
struct vf_compose_input {
	char *kind;          /**< "package", "file", "root.json" */
	char *name;          /**< package name or in-image path */
	char *path;          /**< host path relative to the variant's directory ("../pkgs/a.tar.zst") */
	uint8_t sha256[32];
};

struct vf_compose_result {
	struct vf_tree *tree;             /**< owned */
	int64_t sde;
	enum vf_sde_source sde_source;
	struct vf_policy_report policy;   /**< empty when the policy holds */
	struct vf_compose_input *inputs;  /**< packages first (by name), then files */
	size_t n_inputs;
	char *base_dir;                   /**< the variant's directory (inputs' paths are relative to it) */
};

/**
 * Compose the tree of `m`. `workdir` must exist; the content store goes in
 * `<workdir>/store`. On success *ret is filled; release it with
 * vf_compose_result_release().
 */
int vf_compose(const struct vf_manifest *m, const char *workdir,
	       const struct vf_compose_opts *opts, struct vf_compose_result *ret,
	       struct vf_err *err);

/** Free everything a result holds; accepts a zeroed result. */
void vf_compose_result_release(struct vf_compose_result *r);

#endif
