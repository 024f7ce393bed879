/*
 * Module-private declarations of builder/diff: the comparison context shared
 * by the stages (one file per kind of input), the findings list and the raw
 * byte comparison every stage falls back to.
 */
#ifndef VF_DIFF_INTERNAL_H
#define VF_DIFF_INTERNAL_H

#include "builder/diff/diff.h"

#include <stdbool.h>
#include <stdint.h>

/* Defaults of struct vf_diff_opts. */
#define VF_DIFF_MAX_FINDINGS 10000u
#define VF_DIFF_MAX_DECOMPRESSED (UINT64_C(64) << 30)
#define VF_DIFF_MAX_JSON (UINT64_C(64) << 20)
#define VF_DIFF_MAX_DEPTH 256u
#define VF_DIFF_MAX_ENTRIES 4000000u
/* zstd inside zstd is unwrapped this many times at most. */
#define VF_DIFF_MAX_NESTING 2u
/* Values longer than this are cut ("…") in findings. */
#define VF_DIFF_VALUE_MAX 160u

/** One comparison in progress. */
struct vf_diff_ctx {
	struct vf_diff_opts o;   /* with the defaults filled in */
	struct vf_diff_report *r;
	const char *scope;       /* current partition name, "" for a whole input */
	char *tmp_dir;           /* private directory for decompressed inputs, made on demand */
	unsigned nesting;        /* zstd unwrapped so far */
	uint64_t tmp_seq;        /* names of the files in tmp_dir */
};

/**
 * Add a finding under the current scope. `message` NULL builds it: "<field>
 * <a> vs <b>" when both values are given, else "<field>", then " (<detail>)"
 * when there is a detail. Past opts.max_findings the finding is dropped and
 * the report marked truncated. Returns 0 or -ENOMEM.
 */
int vf_diff_add(struct vf_diff_ctx *c, const char *object, const char *field, const char *a,
		const char *b, const char *detail, const char *message);

/** vf_diff_add() with a printf-formatted message. */
int vf_diff_addf(struct vf_diff_ctx *c, const char *object, const char *field, const char *a,
		 const char *b, const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/** Whether the report is full (comparing further is pointless). */
bool vf_diff_full(const struct vf_diff_ctx *c);

/** Findings added since `from`: sort them by object (bytewise), stably. */
void vf_diff_sort_from(struct vf_diff_ctx *c, size_t from);

/* ---- raw bytes ------------------------------------------------------------------- */

/** Where two byte strings differ. Offsets are relative to the compared regions. */
struct vf_diff_range {
	bool differ;
	uint64_t first, last;   /* the first differing range, inclusive */
	uint64_t ranges;        /* runs of differing bytes */
	uint64_t bytes;         /* differing bytes (past the end of the shorter: all) */
	bool in_run;            /* (streaming) the byte before `pos` differed */
	uint64_t pos;           /* (streaming) bytes fed so far */
};

/** Feed `n` bytes of both sides at the current position. */
void vf_diff_range_feed(struct vf_diff_range *d, const uint8_t *x, const uint8_t *y, size_t n);

/** Feed `n` bytes that all differ (or, with `same`, that are all equal). */
void vf_diff_range_skip(struct vf_diff_range *d, uint64_t n, bool same);

/** "bytes 10–42", or "bytes 10–42, 57 bytes in 3 ranges". */
void vf_diff_range_text(const struct vf_diff_range *d, char *out, size_t cap);

/**
 * Compare region [oa, oa+la) of fd `fa` with [ob, ob+lb) of `fb`. Regions of
 * different lengths differ in their tails. Holes of both files are skipped.
 * `what` names the inputs in errors.
 */
int vf_diff_raw_fd(int fa, uint64_t oa, uint64_t la, int fb, uint64_t ob, uint64_t lb,
		   const char *what, struct vf_diff_range *ret, struct vf_err *err);

/** Add a "content differs (bytes …)" finding for `d` under `object`. */
int vf_diff_add_range(struct vf_diff_ctx *c, const char *object, const char *field,
		      const struct vf_diff_range *d);

/* ---- helpers ----------------------------------------------------------------------- */

/**
 * A printable form of a byte value: "text" in double quotes (C escapes) when
 * it is printable ASCII (one trailing NUL dropped), else 0x<hex>; cut at
 * VF_DIFF_VALUE_MAX. Writes at most `cap` bytes (cap >= 2 * VF_DIFF_VALUE_MAX).
 */
void vf_diff_value_text(const uint8_t *v, size_t len, char *out, size_t cap);

/** How vf_diff_num() writes a number. */
enum vf_diff_numfmt { VF_DIFF_DEC, VF_DIFF_OCT4, VF_DIFF_HEX4, VF_DIFF_HEX8, VF_DIFF_HEX16 };

/** A number as text: decimal, "%04o", or 0x with 4, 8 or 16 hex digits. */
void vf_diff_num(char *out, size_t cap, uint64_t v, enum vf_diff_numfmt f);

/** Detect the kind of `len` leading bytes (JSON: a cheap guess, '{' or '['). */
enum vf_diff_kind vf_diff_sniff(const uint8_t *head, size_t len);

/* ---- the stages ---------------------------------------------------------------------- */

/** Two GPT disk images (open fds, paths for messages and libfdisk). */
int vf_diff_gpt(struct vf_diff_ctx *c, const char *pa, int fa, const char *pb, int fb,
		struct vf_err *err);

/**
 * Two ext4 file systems at byte offsets of two files, `size_*` bytes each
 * (the partition or the file). Findings go under the current scope.
 */
int vf_diff_ext4(struct vf_diff_ctx *c, const char *pa, int fa, uint64_t oa, uint64_t size_a,
		 const char *pb, int fb, uint64_t ob, uint64_t size_b, struct vf_err *err);

/**
 * Two dm-verity hash regions. `data_differs` is 1 when the data they hash
 * differs, 0 when it is the same, -1 when unknown; `data_name` names it.
 */
int vf_diff_verity(struct vf_diff_ctx *c, int fa, uint64_t oa, uint64_t la, int fb, uint64_t ob,
		   uint64_t lb, int data_differs, const char *data_name, struct vf_err *err);

/** Two JSON documents (already known to parse as JSON). */
int vf_diff_json(struct vf_diff_ctx *c, const char *pa, const char *pb, struct vf_err *err);

/**
 * Decompress the zstd file `path` (fd) into a new file in the context's
 * private directory; *ret is its path (malloc'd). Bounded by max_decompressed.
 */
int vf_diff_unzstd(struct vf_diff_ctx *c, const char *path, int fd, char **ret, struct vf_err *err);

/** Compare two files by their detected kinds (the recursion point for zstd). */
int vf_diff_paths(struct vf_diff_ctx *c, const char *pa, const char *pb, struct vf_err *err);

/* ---- ext4 (diff_ext4.c, diff_ext4_tree.c) ------------------------------------------------ */

struct struct_ext2_filsys;

/** Inode number -> the first path it was reached by (side a), for naming structures. */
struct vf_diff_inode_path {
	uint32_t ino;
	char *path;
};

struct vf_diff_inode_map {
	struct vf_diff_inode_path *v;
	size_t n, cap;
	bool sorted;
};

/** The path of inode `ino` in the map, or NULL. Sorts the map on first use. */
const char *vf_diff_inode_map_get(struct vf_diff_inode_map *m, uint32_t ino);

/** Free the map. */
void vf_diff_inode_map_release(struct vf_diff_inode_map *m);

/**
 * Walk both trees by path from the root directory and compare every path
 * (findings sorted by path). Fills `map` with side a's inode numbers.
 */
int vf_diff_ext4_tree(struct vf_diff_ctx *c, struct struct_ext2_filsys *fa,
		      struct struct_ext2_filsys *fb, struct vf_diff_inode_map *map, struct vf_err *err);

/** A libext2fs error as a message: "<what>: <error_message(code)>", -EIO (or -ENOMEM). */
int vf_diff_ext2_err(struct vf_err *err, long code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
