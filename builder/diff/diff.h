/**
 * @file diff.h
 * @brief Explain how two build outputs differ (`vforge diff`).
 *
 * vf_diff_files() detects what each input is by its content and compares
 * the two by that kind:
 *  - a GPT disk image: disk size and GUID, the partitions matched by name
 *    (type, UUID, first LBA, size, attributes), the bytes outside the
 *    partitions, and the contents of each partition that differs: an ext4
 *    file system as below, a dm-verity hash partition superblock field by
 *    field (and whether only the tree differs because its data partition
 *    did), anything else as raw bytes;
 *  - an ext4 file system: superblock fields by name, group descriptor
 *    fields, bitmaps, and above all every path (walked by directory entry in
 *    both trees): added, removed, type, mode, owner, size, content (the first
 *    differing byte range), times, link count, symlink target, device
 *    numbers, xattrs, inode number and flags, extent layout; when every path
 *    is the same but blocks still differ, the structure those blocks belong
 *    to (inode table, directory block, bitmap, journal, ...);
 *  - a dm-verity hash file (superblock "verity\0\0" at offset 0);
 *  - a zstd file: decompressed into a private temporary directory (bounded),
 *    then compared by the kind of its content;
 *  - JSON (build.json, TUF metadata, any JSON): a structural diff naming
 *    JSON paths ("partitions[3].uuid");
 *  - anything else: raw bytes (the first differing range, how many bytes and
 *    ranges differ).
 *
 * The result is a list of findings in a deterministic order (partition
 * table order, then paths sorted bytewise). The library never prints; the
 * CLI prints vf_diff_report_format_text() or vf_diff_report_json().
 *
 * Everything read is bounded (findings, file sizes, decompressed size, JSON
 * and directory depth, entries walked), so hostile inputs end in an error or
 * a truncated report, never a crash or an endless walk.
 */
#ifndef VF_DIFF_DIFF_H
#define VF_DIFF_DIFF_H

#include "builder/base/buf.h"
#include "builder/base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What an input is, as detected from its bytes. */
enum vf_diff_kind {
	VF_DIFF_RAW = 0, /**< none of the below */
	VF_DIFF_GPT,     /**< "EFI PART" at byte 512 */
	VF_DIFF_EXT4,    /**< ext4 magic 0xef53 at byte 1080 */
	VF_DIFF_VERITY,  /**< "verity\0\0" at byte 0 */
	VF_DIFF_ZSTD,    /**< zstd frame magic at byte 0 */
	VF_DIFF_JSON,    /**< parses as one JSON value */
};

/** "raw", "gpt", "ext4", "verity", "zstd", "json". */
const char *vf_diff_kind_name(enum vf_diff_kind k);

/**
 * One difference. Strings are owned by the report. In text a finding reads
 * "<scope>: <object>: <message>" (parts that are empty are left out).
 */
struct vf_diff_finding {
	char *scope;   /**< partition name ("ROOT-A"), or "" for the input as a whole */
	char *object;  /**< what differs: "/usr/lib/os-release", "superblock", "group 3",
	                    "partitions[3].uuid", "disk", "partition table", "bytes" */
	char *field;   /**< which attribute: "content", "mode", "mtime", "added", "removed",
	                    "uuid", "value", ... */
	char *a, *b;   /**< the two values as text, NULL when the finding has none */
	char *detail;  /**< more, e.g. "bytes 10–42", or NULL */
	char *message; /**< the attribute as a person reads it: "mtime 1700000000 vs 1700003600",
	                    "content differs (bytes 10–42)", "added" */
};

/** The result of a comparison. */
struct vf_diff_report {
	enum vf_diff_kind kind_a, kind_b;  /**< of the inputs themselves (zstd stays zstd) */
	enum vf_diff_kind inner_a, inner_b; /**< of what was compared (after decompression) */
	struct vf_diff_finding *findings;
	size_t n_findings;
	bool truncated;  /**< more differences were found than opts->max_findings */
};

/** Limits and scratch space; zero-initialised is valid (the defaults). */
struct vf_diff_opts {
	const char *tmp_dir;          /**< where a private temporary directory for
	                                   decompression is made; NULL: $TMPDIR or /tmp */
	uint64_t max_findings;        /**< 0: 10,000 */
	uint64_t max_decompressed;    /**< bytes per decompressed input; 0: 64 GiB */
	uint64_t max_json;            /**< bytes of a JSON input; 0: 64 MiB */
	unsigned max_depth;           /**< JSON nesting and directory depth; 0: 256 */
	uint64_t max_entries;         /**< directory entries walked per file system; 0: 4,000,000 */
};

/**
 * Compare the files (or block devices) `a` and `b`. Returns 0 with *ret
 * filled (n_findings 0 means identical), or a negative errno when an input
 * cannot be read (-ENOENT, -EIO, -EFBIG over a bound, ...) with a message
 * naming the file. Damaged content that can still be compared byte by byte
 * is not an error: it is compared as raw bytes and a finding says why.
 * Free *ret with vf_diff_report_release(); it is written only on success.
 */
int vf_diff_files(const char *a, const char *b, const struct vf_diff_opts *opts,
		  struct vf_diff_report *ret, struct vf_err *err);

/** Detect the kind of the file at `path` from its first bytes (and, for JSON, a parse). */
int vf_diff_detect(const char *path, enum vf_diff_kind *ret, struct vf_err *err);

/** Free the findings; the report is empty afterwards. Accepts NULL. */
void vf_diff_report_release(struct vf_diff_report *r);

/**
 * Append the report as text: one line per scope and object, its findings
 * joined by "; " in report order ("ROOT-A: /etc/x: content differs (bytes
 * 0–3); mtime 1 vs 2"), and a last line when the report was truncated.
 * Nothing for an identical pair. Returns 0 or -ENOMEM.
 */
int vf_diff_report_format_text(const struct vf_diff_report *r, struct vf_buf *out);

struct json_t;

/**
 * The report as JSON (new reference, NULL on ENOMEM):
 * {"identical", "a": {"path", "kind", "content"}, "b": {...}, "truncated",
 *  "findings": [{"scope", "object", "field", "a", "b", "detail", "message"}]}
 * with null for absent values. `path_a`/`path_b` are shown as given.
 */
struct json_t *vf_diff_report_json(const struct vf_diff_report *r, const char *path_a,
				   const char *path_b);

#endif
