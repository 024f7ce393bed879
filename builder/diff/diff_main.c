/* vf_diff_files(): detect each input's kind and compare by it. */
#include "builder/diff/internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD 4096u

static int open_input(const char *path, int *ret_fd, uint64_t *ret_size, struct vf_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		r = vf_err_sys(err, errno, "cannot stat '%s'", path);
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return vf_err_set(err, EINVAL, "'%s' is not a regular file or block device", path);
	}
	if ((r = vf_fs_size(fd, ret_size))) {
		close(fd);
		return vf_err_sys(err, -r, "cannot get the size of '%s'", path);
	}
	*ret_fd = fd;
	return 0;
}

/* A JSON guess is confirmed by parsing (bounded). */
static enum vf_diff_kind confirm_json(const char *path, uint64_t size, uint64_t max)
{
	json_error_t je;
	json_t *j;

	if (size > max)
		return VF_DIFF_RAW;
	j = json_load_file(path, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return VF_DIFF_RAW;
	json_decref(j);
	return VF_DIFF_JSON;
}

static int detect_fd(const char *path, int fd, uint64_t size, uint64_t max_json,
		     enum vf_diff_kind *ret, struct vf_err *err)
{
	uint8_t head[HEAD];
	int64_t n = vf_fs_pread_full(fd, head, sizeof(head), 0);
	enum vf_diff_kind k;

	if (n < 0)
		return vf_err_sys(err, (int)-n, "cannot read '%s'", path);
	k = vf_diff_sniff(head, (size_t)n);
	if (k == VF_DIFF_JSON)
		k = confirm_json(path, size, max_json);
	*ret = k;
	return 0;
}

int vf_diff_detect(const char *path, enum vf_diff_kind *ret, struct vf_err *err)
{
	uint64_t size;
	int fd, r;

	if ((r = open_input(path, &fd, &size, err)))
		return r;
	r = detect_fd(path, fd, size, VF_DIFF_MAX_JSON, ret, err);
	close(fd);
	return r;
}

/* Compare as bytes, one finding when they differ. */
static int raw_diff(struct vf_diff_ctx *c, int fa, uint64_t sa, int fb, uint64_t sb,
		    const char *what, bool *ret_differ, struct vf_err *err)
{
	struct vf_diff_range d;
	int r = vf_diff_raw_fd(fa, 0, sa, fb, 0, sb, what, &d, err);

	if (r)
		return r;
	if (ret_differ)
		*ret_differ = d.differ;
	if (d.differ && !ret_differ)
		r = vf_diff_add_range(c, "", "content", &d);
	return r;
}

static int zstd_pair(struct vf_diff_ctx *c, const char *pa, int fa, uint64_t sa, const char *pb,
		     int fb, uint64_t sb, struct vf_err *err)
{
	char *ta = NULL, *tb = NULL;
	struct vf_diff_range d;
	size_t before = c->r->n_findings;
	struct vf_err e2 = { 0 };
	int r;

	if ((r = vf_diff_raw_fd(fa, 0, sa, fb, 0, sb, "compared files", &d, err)) || !d.differ)
		return r;
	if (c->nesting >= VF_DIFF_MAX_NESTING)
		return vf_diff_add_range(c, "", "compressed content", &d);
	r = vf_diff_unzstd(c, pa, fa, &ta, &e2);
	if (!r)
		r = vf_diff_unzstd(c, pb, fb, &tb, &e2);
	if (r == -EINVAL || r == -EBADMSG) {
		/* damaged: what can still be said is where the bytes differ */
		if ((r = vf_diff_add(c, "", "zstd", NULL, NULL, NULL, e2.msg)) == 0)
			r = vf_diff_add_range(c, "", "content", &d);
		goto out;
	}
	if (r) {
		if (err)
			*err = e2;
		goto out;
	}
	c->nesting++;
	r = vf_diff_paths(c, ta, tb, err);
	c->nesting--;
	if (!r && c->r->n_findings == before && !c->r->truncated) {
		char detail[160];

		vf_diff_range_text(&d, detail, sizeof(detail));
		r = vf_diff_addf(c, "", "compressed content", NULL, NULL, detail,
				 "compressed bytes differ (%s) but the decompressed contents are identical",
				 detail);
	}
out:
	if (ta)
		unlink(ta);
	if (tb)
		unlink(tb);
	free(ta);
	free(tb);
	return r;
}

int vf_diff_paths(struct vf_diff_ctx *c, const char *pa, const char *pb, struct vf_err *err)
{
	enum vf_diff_kind ka, kb;
	uint64_t sa = 0, sb = 0;
	int fa = -1, fb = -1, r;
	bool differ = false;
	size_t before = c->r->n_findings;

	if ((r = open_input(pa, &fa, &sa, err)) || (r = open_input(pb, &fb, &sb, err)))
		goto out;
	if ((r = detect_fd(pa, fa, sa, c->o.max_json, &ka, err)) ||
	    (r = detect_fd(pb, fb, sb, c->o.max_json, &kb, err)))
		goto out;
	if (c->nesting == 0) {
		c->r->kind_a = ka;
		c->r->kind_b = kb;
	}
	c->r->inner_a = ka;
	c->r->inner_b = kb;
	if (ka != kb) {
		if ((r = vf_diff_add(c, "", "kind", vf_diff_kind_name(ka), vf_diff_kind_name(kb), NULL,
				     NULL)))
			goto out;
		r = raw_diff(c, fa, sa, fb, sb, "compared files", NULL, err);
		goto out;
	}
	switch (ka) {
	case VF_DIFF_GPT:
		r = vf_diff_gpt(c, pa, fa, pb, fb, err);
		break;
	case VF_DIFF_EXT4:
		if ((r = raw_diff(c, fa, sa, fb, sb, "compared files", &differ, err)) || !differ)
			break;
		r = vf_diff_ext4(c, pa, fa, 0, sa, pb, fb, 0, sb, err);
		break;
	case VF_DIFF_VERITY:
		if ((r = raw_diff(c, fa, sa, fb, sb, "compared files", &differ, err)) || !differ)
			break;
		r = vf_diff_verity(c, fa, 0, sa, fb, 0, sb, -1, NULL, err);
		break;
	case VF_DIFF_ZSTD:
		r = zstd_pair(c, pa, fa, sa, pb, fb, sb, err);
		break;
	case VF_DIFF_JSON:
		if ((r = raw_diff(c, fa, sa, fb, sb, "compared files", &differ, err)) || !differ)
			break;
		if ((r = vf_diff_json(c, pa, pb, err)))
			break;
		if (c->r->n_findings == before && !c->r->truncated)
			r = vf_diff_add(c, "", "formatting", NULL, NULL, NULL,
					"same JSON value, formatted differently");
		break;
	case VF_DIFF_RAW:
		r = raw_diff(c, fa, sa, fb, sb, "compared files", NULL, err);
		break;
	}
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return r;
}

int vf_diff_files(const char *a, const char *b, const struct vf_diff_opts *opts,
		  struct vf_diff_report *ret, struct vf_err *err)
{
	struct vf_diff_report rep;
	struct vf_diff_ctx c;
	int r;

	memset(&rep, 0, sizeof(rep));
	memset(&c, 0, sizeof(c));
	if (opts)
		c.o = *opts;
	if (!c.o.max_findings)
		c.o.max_findings = VF_DIFF_MAX_FINDINGS;
	if (!c.o.max_decompressed)
		c.o.max_decompressed = VF_DIFF_MAX_DECOMPRESSED;
	if (!c.o.max_json)
		c.o.max_json = VF_DIFF_MAX_JSON;
	if (!c.o.max_depth)
		c.o.max_depth = VF_DIFF_MAX_DEPTH;
	if (!c.o.max_entries)
		c.o.max_entries = VF_DIFF_MAX_ENTRIES;
	c.r = &rep;
	c.scope = "";
	r = vf_diff_paths(&c, a, b, err);
	if (r == -ENOMEM && (!err || !err->msg[0]))
		vf_err_set(err, ENOMEM, "out of memory");
	if (c.tmp_dir) {
		struct vf_err ignore = { 0 };

		vf_fs_remove_tree(c.tmp_dir, &ignore);
		free(c.tmp_dir);
	}
	if (r) {
		vf_diff_report_release(&rep);
		return r;
	}
	*ret = rep;
	return 0;
}
