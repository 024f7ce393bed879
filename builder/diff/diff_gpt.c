/*
 * Two GPT disk images: the disk, the table (partitions matched by name), the
 * bytes outside the partitions, and the contents of each differing
 * partition by their kind (ext4, dm-verity hash, raw). Also dm-verity hash
 * regions on their own (vf_diff_verity).
 */
#include "builder/diff/internal.h"

#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "builder/base/uuid.h"
#include "builder/gpt/gpt.h"
#include "builder/verity/verity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD 4096u

/* ---- dm-verity --------------------------------------------------------------------- */

static void level_of(const struct vf_verity_params *p, uint64_t off, char *out, size_t cap)
{
	struct vf_verity_geometry g;
	struct vf_err ignore = { 0 };
	uint64_t blk = off / p->hash_block_size;

	out[0] = '\0';
	if (!p->data_blocks || vf_verity_geometry_build(p, &g, &ignore))
		return;
	for (unsigned l = 0; l < g.levels; l++)
		if (blk >= g.level_start[l] && blk < g.level_start[l] + g.level_blocks[l]) {
			snprintf(out, cap, "; first in hash block %llu, level %u of %u (0 = leaves)",
				 (unsigned long long)blk, l, g.levels);
			return;
		}
	if (blk >= g.hash_start_block + g.hash_blocks)
		snprintf(out, cap, "; first past the tree's end (hash block %llu)", (unsigned long long)blk);
}

static int verity_field_u(struct vf_diff_ctx *c, const char *field, uint64_t a, uint64_t b)
{
	char ta[32], tb[32];

	if (a == b)
		return 0;
	snprintf(ta, sizeof(ta), "%llu", (unsigned long long)a);
	snprintf(tb, sizeof(tb), "%llu", (unsigned long long)b);
	return vf_diff_add(c, "verity superblock", field, ta, tb, NULL, NULL);
}

int vf_diff_verity(struct vf_diff_ctx *c, int fa, uint64_t oa, uint64_t la, int fb, uint64_t ob,
		   uint64_t lb, int data_differs, const char *data_name, struct vf_err *err)
{
	uint8_t sa[VF_VERITY_SB_SIZE], sb[VF_VERITY_SB_SIZE];
	struct vf_verity_params pa, pb;
	struct vf_err ea = { 0 }, eb = { 0 };
	struct vf_diff_range d;
	char ta[2 * VF_VERITY_MAX_SALT + 40], tb[2 * VF_VERITY_MAX_SALT + 40], lvl[128], detail[300];
	bool params_same;
	uint64_t start;
	int r;

	if (la < VF_VERITY_SB_SIZE || lb < VF_VERITY_SB_SIZE ||
	    vf_fs_pread_full(fa, sa, sizeof(sa), oa) != VF_VERITY_SB_SIZE ||
	    vf_fs_pread_full(fb, sb, sizeof(sb), ob) != VF_VERITY_SB_SIZE)
		return vf_err_set(err, EIO, "cannot read a verity superblock");
	if (vf_verity_sb_decode(sa, &pa, &ea) || vf_verity_sb_decode(sb, &pb, &eb)) {
		/* a damaged superblock: compare the bytes */
		if ((r = vf_diff_addf(c, "verity superblock", "invalid", NULL, NULL, NULL, "invalid: %s",
				      ea.msg[0] ? ea.msg : eb.msg)))
			return r;
		if ((r = vf_diff_raw_fd(fa, oa, la, fb, ob, lb, "verity hash", &d, err)) || !d.differ)
			return r;
		return vf_diff_add_range(c, "", "content", &d);
	}
	pa.hash_offset = pb.hash_offset = 0;
	pa.superblock = pb.superblock = true;
	if ((r = verity_field_u(c, "hash_type", pa.hash_type, pb.hash_type)))
		return r;
	if (strcmp(pa.hash_name, pb.hash_name) &&
	    (r = vf_diff_add(c, "verity superblock", "hash_algorithm", pa.hash_name, pb.hash_name, NULL,
			     NULL)))
		return r;
	if ((r = verity_field_u(c, "data_block_size", pa.data_block_size, pb.data_block_size)) ||
	    (r = verity_field_u(c, "hash_block_size", pa.hash_block_size, pb.hash_block_size)) ||
	    (r = verity_field_u(c, "data_blocks", pa.data_blocks, pb.data_blocks)))
		return r;
	if (pa.salt_size != pb.salt_size || memcmp(pa.salt, pb.salt, pa.salt_size)) {
		vf_hex_format(pa.salt, pa.salt_size, ta);
		vf_hex_format(pb.salt, pb.salt_size, tb);
		if ((r = vf_diff_add(c, "verity superblock", "salt", pa.salt_size ? ta : "-",
				     pb.salt_size ? tb : "-", NULL, NULL)))
			return r;
	}
	if (memcmp(pa.uuid, pb.uuid, 16)) {
		vf_uuid_format(pa.uuid, ta);
		vf_uuid_format(pb.uuid, tb);
		if ((r = vf_diff_add(c, "verity superblock", "uuid", ta, tb, NULL, NULL)))
			return r;
	}
	params_same = pa.hash_type == pb.hash_type && !strcmp(pa.hash_name, pb.hash_name) &&
		      pa.data_block_size == pb.data_block_size &&
		      pa.hash_block_size == pb.hash_block_size && pa.data_blocks == pb.data_blocks &&
		      pa.salt_size == pb.salt_size && !memcmp(pa.salt, pb.salt, pa.salt_size);
	/* the tree: from the first hash block after the superblock to the end */
	start = pa.hash_block_size < la && pa.hash_block_size < lb ? pa.hash_block_size : VF_VERITY_SB_SIZE;
	if ((r = vf_diff_raw_fd(fa, oa + start, la - start, fb, ob + start, lb - start, "verity hash", &d,
				err)))
		return r;
	if (!d.differ)
		return 0;
	d.first += start;
	d.last += start;
	vf_diff_range_text(&d, detail, sizeof(detail));
	level_of(&pa, d.first, lvl, sizeof(lvl));
	if (!params_same)
		return vf_diff_addf(c, "hash tree", "content", NULL, NULL, detail,
				    "differs (%s%s): the parameters above differ", detail, lvl);
	if (data_differs > 0)
		return vf_diff_addf(c, "hash tree", "content", NULL, NULL, detail,
				    "differs (%s%s): only the tree differs, because the data did (%s differs)",
				    detail, lvl, data_name);
	if (data_differs == 0)
		return vf_diff_addf(c, "hash tree", "content", NULL, NULL, detail,
				    "differs (%s%s) although its data (%s) is the same: one of the trees "
				    "is wrong",
				    detail, lvl, data_name);
	return vf_diff_addf(c, "hash tree", "content", NULL, NULL, detail,
			    "differs (%s%s): the data hashed differs (same parameters)", detail, lvl);
}

/* ---- the disk ------------------------------------------------------------------------ */

static bool unused(const struct vf_gpt_part *p)
{
	static const uint8_t zero[16];

	return p->size_lba == 0 && !memcmp(p->type, zero, 16);
}

static void part_label(const struct vf_gpt_table *t, size_t i, char *out, size_t cap)
{
	if (t->parts[i].name[0])
		snprintf(out, cap, "%s", t->parts[i].name);
	else
		snprintf(out, cap, "partition %zu", i + 1);
}

/* The partition of `t` with the label `label`, or -1. */
static long find_part(const struct vf_gpt_table *t, const char *label)
{
	char l[64];

	for (size_t i = 0; i < t->n_parts; i++) {
		if (unused(&t->parts[i]))
			continue;
		part_label(t, i, l, sizeof(l));
		if (!strcmp(l, label))
			return (long)i;
	}
	return -1;
}

static void type_text(const uint8_t type[16], char *out, size_t cap)
{
	char u[VF_UUID_TEXT_LEN + 1];
	const char *n = vf_gpt_type_name(type);

	vf_uuid_format(type, u);
	if (n)
		snprintf(out, cap, "%s (%s)", u, n);
	else
		snprintf(out, cap, "%s", u);
}

static int field_u(struct vf_diff_ctx *c, const char *object, const char *field, uint64_t a,
		   uint64_t b, enum vf_diff_numfmt fmt)
{
	char ta[40], tb[40];

	if (a == b)
		return 0;
	vf_diff_num(ta, sizeof(ta), a, fmt);
	vf_diff_num(tb, sizeof(tb), b, fmt);
	return vf_diff_add(c, object, field, ta, tb, NULL, NULL);
}

static int table_fields(struct vf_diff_ctx *c, const struct vf_gpt_part *a, const struct vf_gpt_part *b,
			size_t ia, size_t ib)
{
	char ta[96], tb[96];
	int r = 0;

	if (ia != ib && (r = field_u(c, "partition table", "number", ia + 1, ib + 1, VF_DIFF_DEC)))
		return r;
	if (memcmp(a->type, b->type, 16)) {
		type_text(a->type, ta, sizeof(ta));
		type_text(b->type, tb, sizeof(tb));
		if ((r = vf_diff_add(c, "partition table", "type", ta, tb, NULL, NULL)))
			return r;
	}
	if (memcmp(a->uuid, b->uuid, 16)) {
		vf_uuid_format(a->uuid, ta);
		vf_uuid_format(b->uuid, tb);
		if ((r = vf_diff_add(c, "partition table", "uuid", ta, tb, NULL, NULL)))
			return r;
	}
	if ((r = field_u(c, "partition table", "first_lba", a->first_lba, b->first_lba, VF_DIFF_DEC)) ||
	    (r = field_u(c, "partition table", "size_lba", a->size_lba, b->size_lba, VF_DIFF_DEC)) ||
	    (r = field_u(c, "partition table", "attributes", a->attrs, b->attrs, VF_DIFF_HEX16)))
		return r;
	return 0;
}

/* The kind of a partition's contents. */
static enum vf_diff_kind part_kind(int fd, uint64_t off, uint64_t len)
{
	uint8_t head[HEAD];
	int64_t n = vf_fs_pread_full(fd, head, len < HEAD ? (size_t)len : HEAD, off);
	enum vf_diff_kind k;

	if (n <= 0)
		return VF_DIFF_RAW;
	k = vf_diff_sniff(head, (size_t)n);
	/* inside a disk only file systems and verity are understood */
	return k == VF_DIFF_EXT4 || k == VF_DIFF_VERITY ? k : VF_DIFF_RAW;
}

/* Bytes outside every partition, when both disks have the same layout. */
static int gaps(struct vf_diff_ctx *c, const struct vf_gpt_table *ta, const struct vf_gpt_table *tb,
		int fa, int fb, struct vf_err *err)
{
	uint64_t *start = NULL, *end = NULL, pos = 0;
	struct vf_diff_range total;
	size_t n = 0;
	int r = 0;

	if (ta->n_parts != tb->n_parts || ta->disk_size != tb->disk_size)
		return 0;
	for (size_t i = 0; i < ta->n_parts; i++)
		if (ta->parts[i].first_lba != tb->parts[i].first_lba ||
		    ta->parts[i].size_lba != tb->parts[i].size_lba)
			return 0;
	start = calloc(ta->n_parts + 1, sizeof(*start));
	end = calloc(ta->n_parts + 1, sizeof(*end));
	if (!start || !end) {
		r = -ENOMEM;
		goto out;
	}
	/* partitions sorted by start (at most 128: insertion sort) */
	for (size_t i = 0; i < ta->n_parts; i++) {
		size_t k = n;

		if (unused(&ta->parts[i]))
			continue;
		while (k && start[k - 1] > ta->parts[i].first_lba * VF_GPT_SECTOR) {
			start[k] = start[k - 1];
			end[k] = end[k - 1];
			k--;
		}
		start[k] = ta->parts[i].first_lba * VF_GPT_SECTOR;
		end[k] = start[k] + ta->parts[i].size_lba * VF_GPT_SECTOR;
		n++;
	}
	start[n] = end[n] = ta->disk_size;
	memset(&total, 0, sizeof(total));
	for (size_t i = 0; i <= n; i++) {
		struct vf_diff_range d;

		if (start[i] > pos) {
			if ((r = vf_diff_raw_fd(fa, pos, start[i] - pos, fb, pos, start[i] - pos,
						"compared disks", &d, err)))
				goto out;
			if (d.differ) {
				if (!total.differ) {
					total.first = pos + d.first;
					total.last = pos + d.last;
				}
				total.differ = true;
				total.ranges += d.ranges;
				total.bytes += d.bytes;
			}
		}
		if (end[i] > pos)
			pos = end[i];
	}
	if (total.differ) {
		char detail[160];

		vf_diff_range_text(&total, detail, sizeof(detail));
		r = vf_diff_addf(c, "disk", "outside the partitions", NULL, NULL, detail,
				 "bytes outside the partitions differ (%s)", detail);
	}
out:
	free(start);
	free(end);
	return r;
}

static int contents(struct vf_diff_ctx *c, const char *pa, int fa, const struct vf_gpt_part *a,
		    const char *pb, int fb, const struct vf_gpt_part *b, int data_differs,
		    const char *data_name, const struct vf_diff_range *d, struct vf_err *err)
{
	uint64_t oa = a->first_lba * VF_GPT_SECTOR, la = a->size_lba * VF_GPT_SECTOR;
	uint64_t ob = b->first_lba * VF_GPT_SECTOR, lb = b->size_lba * VF_GPT_SECTOR;
	enum vf_diff_kind ka = part_kind(fa, oa, la), kb = part_kind(fb, ob, lb);
	int r;

	if (ka != kb) {
		if ((r = vf_diff_add(c, "", "content kind", vf_diff_kind_name(ka),
				     vf_diff_kind_name(kb), NULL, NULL)))
			return r;
		return vf_diff_add_range(c, "", "content", d);
	}
	if (ka == VF_DIFF_EXT4)
		return vf_diff_ext4(c, pa, fa, oa, la, pb, fb, ob, lb, err);
	if (ka == VF_DIFF_VERITY)
		return vf_diff_verity(c, fa, oa, la, fb, ob, lb, data_differs, data_name, err);
	return vf_diff_add_range(c, "", "content", d);
}

int vf_diff_gpt(struct vf_diff_ctx *c, const char *pa, int fa, const char *pb, int fb,
		struct vf_err *err)
{
	struct vf_gpt_table ta, tb;
	struct vf_diff_range *ranges = NULL;
	long *match = NULL;
	char la[64], lb[64], ua[VF_UUID_TEXT_LEN + 1], ub[VF_UUID_TEXT_LEN + 1];
	const char *saved = c->scope;
	bool have_a = false, have_b = false;
	int r;

	memset(&ta, 0, sizeof(ta));
	memset(&tb, 0, sizeof(tb));
	if ((r = vf_gpt_read(pa, &ta, err)) == 0) {
		have_a = true;
		r = vf_gpt_read(pb, &tb, err);
		have_b = r == 0;
	}
	if (r == -ENOMEM)
		goto out;
	if (r) {
		/* no table libfdisk accepts: say why, compare the bytes */
		char msg[VF_ERR_MSG_MAX + 32];
		uint64_t sa = 0, sb = 0;
		struct vf_diff_range d;

		snprintf(msg, sizeof(msg), "cannot be read: %s", err ? err->msg : "damaged");
		vf_err_clear(err);
		if ((r = vf_fs_size(fa, &sa)) || (r = vf_fs_size(fb, &sb))) {
			r = vf_err_sys(err, -r, "cannot get the size of the compared disks");
			goto out;
		}
		if ((r = vf_diff_raw_fd(fa, 0, sa, fb, 0, sb, "compared disks", &d, err)) || !d.differ)
			goto out;
		if (!(r = vf_diff_add(c, "partition table", "unreadable", NULL, NULL, NULL, msg)))
			r = vf_diff_add_range(c, "", "content", &d);
		goto out;
	}
	match = calloc(ta.n_parts + 1, sizeof(*match));
	ranges = calloc(ta.n_parts + 1, sizeof(*ranges));
	if (!match || !ranges) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* the disk */
	if ((r = field_u(c, "disk", "size", ta.disk_size, tb.disk_size, VF_DIFF_DEC)))
		goto out;
	if (memcmp(ta.disk_guid, tb.disk_guid, 16)) {
		vf_uuid_format(ta.disk_guid, ua);
		vf_uuid_format(tb.disk_guid, ub);
		if ((r = vf_diff_add(c, "disk", "guid", ua, ub, NULL, NULL)))
			goto out;
	}
	if ((r = gaps(c, &ta, &tb, fa, fb, err)))
		goto out;
	/* match by name, and compare every pair's bytes first (verity needs its data's answer) */
	for (size_t i = 0; i < ta.n_parts; i++) {
		const struct vf_gpt_part *a = &ta.parts[i], *b;

		match[i] = -1;
		if (unused(a))
			continue;
		part_label(&ta, i, la, sizeof(la));
		if ((match[i] = find_part(&tb, la)) < 0)
			continue;
		b = &tb.parts[match[i]];
		if ((r = vf_diff_raw_fd(fa, a->first_lba * VF_GPT_SECTOR, a->size_lba * VF_GPT_SECTOR, fb,
					b->first_lba * VF_GPT_SECTOR, b->size_lba * VF_GPT_SECTOR, la,
					&ranges[i], err))) {
			vf_err_prefix(err, "partition %s", la);
			goto out;
		}
	}
	for (size_t i = 0; i < ta.n_parts && !vf_diff_full(c); i++) {
		int data_differs = -1;
		char data_name[64] = "";

		if (unused(&ta.parts[i]))
			continue;
		part_label(&ta, i, la, sizeof(la));
		c->scope = la;
		if (match[i] < 0) {
			if ((r = vf_diff_add(c, "", "removed", NULL, NULL, NULL,
					     "partition only in the first disk")))
				goto out;
			continue;
		}
		if ((r = table_fields(c, &ta.parts[i], &tb.parts[match[i]], i, (size_t)match[i])))
			goto out;
		if (!ranges[i].differ)
			continue;
		/* HASH-x hashes ROOT-x */
		if (!strncmp(la, "HASH", 4)) {
			long k;

			snprintf(data_name, sizeof(data_name), "ROOT%s", la + 4);
			if ((k = find_part(&ta, data_name)) >= 0 && match[k] >= 0)
				data_differs = ranges[k].differ;
		}
		if ((r = contents(c, pa, fa, &ta.parts[i], pb, fb, &tb.parts[match[i]], data_differs,
				  data_name, &ranges[i], err))) {
			vf_err_prefix(err, "partition %s", la);
			goto out;
		}
	}
	for (size_t j = 0; j < tb.n_parts && !vf_diff_full(c); j++) {
		if (unused(&tb.parts[j]))
			continue;
		part_label(&tb, j, lb, sizeof(lb));
		if (find_part(&ta, lb) >= 0)
			continue;
		c->scope = lb;
		if ((r = vf_diff_add(c, "", "added", NULL, NULL, NULL, "partition only in the second disk")))
			goto out;
	}
out:
	c->scope = saved;
	if (have_a)
		vf_gpt_table_release(&ta);
	if (have_b)
		vf_gpt_table_release(&tb);
	free(match);
	free(ranges);
	return r;
}
