/**
 * @file internal.h
 * @brief builder/manifest private declarations: value grammars, host path
 *        helpers, the typed parser and the layout.
 *
 * Only files of builder/manifest include this header (and jansson.h).
 */
#ifndef VF_MANIFEST_INTERNAL_H
#define VF_MANIFEST_INTERNAL_H

#include "builder/base/err.h"
#include "builder/manifest/manifest.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VF_MANIFEST_MIB (UINT64_C(1) << 20)
/** Longest in-image path, host path, glob, symlink target (bytes). */
#define VF_MANIFEST_PATH_MAX 4095
/** Longest path component in the image (bytes). */
#define VF_MANIFEST_NAME_MAX 255
/** Longest SELinux file_contexts regex (bytes). */
#define VF_MANIFEST_REGEX_MAX 1024
/** Largest {m,n} bound and largest estimated expansion of one regex. */
#define VF_MANIFEST_REGEX_BOUND_MAX 255
#define VF_MANIFEST_REGEX_WEIGHT_MAX 4096
/** Longest partition name (GPT holds 36 UTF-16 code units). */
#define VF_MANIFEST_PART_NAME_MAX 36
/** Where update.root goes in the image unless update.path says otherwise. */
#define VF_MANIFEST_UPDATE_PATH_DEFAULT "/usr/share/vforge/root.json"
/** Room for a value quoted in a message by vf_manifest_show(). */
#define VF_MANIFEST_SHOW_MAX 100

/* ---- value.c: grammars --------------------------------------------------------- */

/**
 * Quote `s` for a message: 'text', with control characters, quotes and
 * backslashes escaped and long text cut with "...". Returns `out`.
 */
const char *vf_manifest_show(const char *s, char out[VF_MANIFEST_SHOW_MAX]);

/** [a-z0-9][a-z0-9-]{0,63}; with `pkg`, '.', '_' and '+' are allowed after the first. */
bool vf_manifest_is_name(const char *s, bool pkg);

/** SemVer 2.0.0: MAJOR.MINOR.PATCH[-prerelease][+build], no leading zeros. */
bool vf_manifest_is_semver(const char *s);

/** "4096", "512KiB", "40MiB", ...: 0, -EINVAL (syntax) or -ERANGE (overflow). */
int vf_manifest_parse_size(const char *s, uint64_t *ret);

/** One to four octal digits: 0 or -EINVAL. */
int vf_manifest_parse_mode(const char *s, uint32_t *ret);

/**
 * Why `s` is not a normalised absolute in-image path, or NULL when it is.
 * `len` is the JSON string's length (embedded NULs are refused).
 */
const char *vf_manifest_image_path_problem(const char *s, size_t len);

/** Why `s` is not an SELinux label (user:role:type[:level]), or NULL. */
const char *vf_manifest_label_problem(const char *s);

/**
 * Whether the file_contexts regex `re` compiles as ^(re)$ with
 * REG_EXTENDED|REG_NOSUB and stays within the size limits. On failure writes
 * the reason to `why` and returns false.
 */
bool vf_manifest_regex_ok(const char *re, char *why, size_t why_len);

/**
 * snprintf() into `out` (`size` bytes) for field names in messages, where a
 * cut name is acceptable. Returns `out`.
 */
const char *vf_manifest_fmt(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- value.c: host paths ------------------------------------------------------- */

/** "dir/name" (just `name` when it is absolute or `dir` is "."); NULL on ENOMEM. */
char *vf_manifest_path_join(const char *dir, const char *name);

/** The directory part of `path` ("." when it has none); NULL on ENOMEM. */
char *vf_manifest_path_dir(const char *path);

/**
 * An absolute, normalised form of directory `dir`: its realpath, or (when it
 * does not resolve) the lexical normalisation of cwd + dir. 0 or -errno.
 */
int vf_manifest_abs_dir(const char *dir, char **ret);

/**
 * Resolve host path `rel` against the absolute directory `dir`: the realpath
 * of its parent directory plus its last component, or the lexical
 * normalisation when the parent does not resolve. 0 or -ENOMEM.
 */
int vf_manifest_resolve_host(const char *dir, const char *rel, char **ret);

/** `target` relative to `base` (both absolute and normalised); NULL on ENOMEM. */
char *vf_manifest_path_relative(const char *target, const char *base);

/* ---- parse.c: the typed view --------------------------------------------------- */

/**
 * Validate `doc` and fill `m` (which must be zeroed; free it with
 * vf_manifest_free() either way). With `composed` false, `doc` is one file:
 * `include` and `remove_packages` are accepted, nothing is required and host
 * paths are not resolved. With `composed` true, `doc` is the merged document
 * carrying "origin"/"file" annotations: name, version and arch are required
 * and the layout is derived and checked. Messages name the field, without
 * the file.
 */
int vf_manifest_parse_doc(json_t *doc, bool composed, struct vf_manifest *m,
			  struct vf_err *err);

/** Release the strings and arrays of a typed view, leaving `m` zeroed but for json/path. */
void vf_manifest_release_typed(struct vf_manifest *m);

/* ---- layout.c ------------------------------------------------------------------ */

/**
 * Parse `layout` (may be NULL: all defaults) into `l`; with `composed`,
 * derive the partition list and check it (names, placement, disk size).
 */
int vf_manifest_parse_layout(json_t *layout, bool composed, struct vf_manifest_layout *l,
			     struct vf_err *err);

/** Free what a layout holds. */
void vf_manifest_layout_release(struct vf_manifest_layout *l);

/* ---- parse.c helpers shared with layout.c ------------------------------------- */

/** "field: expected <want>, got <a json type>"; returns -EINVAL. */
int vf_manifest_type_err(struct vf_err *err, const char *field, const char *want, json_t *v);

/** Refuse keys of `obj` not in the NULL-terminated `keys`; `field` may be "". */
int vf_manifest_check_keys(json_t *obj, const char *field, const char *const *keys,
			   struct vf_err *err);

/** An integer or size string (see vf_manifest_parse_size). */
int vf_manifest_get_size(json_t *v, const char *field, uint64_t *ret, struct vf_err *err);

/** A boolean. */
int vf_manifest_get_bool(json_t *v, const char *field, bool *ret, struct vf_err *err);

/** A string (no embedded NUL); *ret is borrowed from `v`. */
int vf_manifest_get_string(json_t *v, const char *field, const char **ret, struct vf_err *err);

/** An integer in 0..max. */
int vf_manifest_get_uint(json_t *v, const char *field, uint64_t max, uint64_t *ret,
			 struct vf_err *err);

#endif
