/* Byte-level comparison: the first differing range, counts, holes skipped. */
#include "builder/diff/internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static void mark(struct vf_diff_range *d, uint64_t at, uint64_t n)
{
	/* n differing bytes at position `at` (continuing a run when in_run) */
	if (!d->differ) {
		d->differ = true;
		d->first = at;
		d->last = at + n - 1;
		d->ranges = 1;
	} else if (d->in_run) {
		if (d->ranges == 1)
			d->last = at + n - 1;
	} else {
		d->ranges++;
	}
	d->bytes += n;
	d->in_run = true;
}

void vf_diff_range_feed(struct vf_diff_range *d, const uint8_t *x, const uint8_t *y, size_t n)
{
	size_t i = 0;

	if (!memcmp(x, y, n)) {
		if (n)
			d->in_run = false;
		d->pos += n;
		return;
	}
	while (i < n) {
		size_t j = i;

		if (x[i] == y[i]) {
			/* skip equal bytes, 8 at a time where possible */
			while (j < n && x[j] == y[j])
				j++;
			d->in_run = false;
		} else {
			while (j < n && x[j] != y[j])
				j++;
			mark(d, d->pos + i, j - i);
		}
		i = j;
	}
	d->pos += n;
}

void vf_diff_range_skip(struct vf_diff_range *d, uint64_t n, bool same)
{
	if (!n)
		return;
	if (same)
		d->in_run = false;
	else
		mark(d, d->pos, n);
	d->pos += n;
}

void vf_diff_range_text(const struct vf_diff_range *d, char *out, size_t cap)
{
	if (d->ranges > 1)
		snprintf(out, cap, "bytes %llu\u2013%llu, %llu bytes in %llu ranges",
			 (unsigned long long)d->first, (unsigned long long)d->last,
			 (unsigned long long)d->bytes, (unsigned long long)d->ranges);
	else
		snprintf(out, cap, "bytes %llu\u2013%llu", (unsigned long long)d->first,
			 (unsigned long long)d->last);
}

int vf_diff_add_range(struct vf_diff_ctx *c, const char *object, const char *field,
		      const struct vf_diff_range *d)
{
	char detail[160];

	vf_diff_range_text(d, detail, sizeof(detail));
	return vf_diff_addf(c, object, field, NULL, NULL, detail, "%s differs (%s)", field, detail);
}

/* Where the next data of fd is at or after `off` (end when none, off when unknown). */
static uint64_t next_data(int fd, uint64_t off, uint64_t end)
{
	off_t r = lseek(fd, (off_t)off, SEEK_DATA);

	if (r < 0)
		return errno == ENXIO ? end : off;
	return (uint64_t)r > end ? end : (uint64_t)r;
}

int vf_diff_raw_fd(int fa, uint64_t oa, uint64_t la, int fb, uint64_t ob, uint64_t lb,
		   const char *what, struct vf_diff_range *ret, struct vf_err *err)
{
	struct vf_diff_range d;
	uint64_t common = la < lb ? la : lb, p = 0;
	uint8_t *x = malloc(CHUNK), *y = malloc(CHUNK);
	int r = 0;

	memset(&d, 0, sizeof(d));
	if (!x || !y) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while (p < common) {
		size_t n = common - p > CHUNK ? CHUNK : (size_t)(common - p);
		int64_t ga, gb;

		/* a hole in both: equal zeros */
		if (p % CHUNK == 0) {
			uint64_t da = next_data(fa, oa + p, oa + common) - oa;
			uint64_t db = next_data(fb, ob + p, ob + common) - ob;
			uint64_t skip = (da < db ? da : db);

			if (skip > p) {
				skip = p + (skip - p) / CHUNK * CHUNK;
				if (skip > p) {
					vf_diff_range_skip(&d, skip - p, true);
					p = skip;
					continue;
				}
			}
		}
		ga = vf_fs_pread_full(fa, x, n, oa + p);
		gb = vf_fs_pread_full(fb, y, n, ob + p);
		if (ga < 0 || gb < 0) {
			r = vf_err_sys(err, (int)-(ga < 0 ? ga : gb), "%s: cannot read at byte %llu", what,
				       (unsigned long long)p);
			goto out;
		}
		if ((size_t)ga < n || (size_t)gb < n) {
			r = vf_err_set(err, EIO, "%s: ends before byte %llu", what,
				       (unsigned long long)(p + n));
			goto out;
		}
		vf_diff_range_feed(&d, x, y, n);
		p += n;
	}
	vf_diff_range_skip(&d, (la > lb ? la : lb) - common, false);
	*ret = d;
out:
	free(x);
	free(y);
	return r;
}

enum vf_diff_kind vf_diff_sniff(const uint8_t *head, size_t len)
{
	static const uint8_t zstd[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	size_t i = 0;

	if (len >= 520 && !memcmp(head + 512, "EFI PART", 8))
		return VF_DIFF_GPT;
	if (len >= 8 && !memcmp(head, "verity\0\0", 8))
		return VF_DIFF_VERITY;
	if (len >= 1082 && head[1080] == 0x53 && head[1081] == 0xef)
		return VF_DIFF_EXT4;
	if (len >= 4 && !memcmp(head, zstd, 4))
		return VF_DIFF_ZSTD;
	if (len >= 3 && head[0] == 0xef && head[1] == 0xbb && head[2] == 0xbf)
		i = 3; /* a UTF-8 byte order mark */
	while (i < len && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r'))
		i++;
	if (i < len && (head[i] == '{' || head[i] == '['))
		return VF_DIFF_JSON;
	return VF_DIFF_RAW;
}
