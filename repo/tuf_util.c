/*
 * repo: TUF helpers: expiry times, hashes of targets and metadata files,
 * path patterns, succinct hash bins (TAP 15), file names.
 */
#include "repo/internal.h"

#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "keys/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- time ------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int digits(const char *s, size_t n, unsigned *ret)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

int vf_tuf_time_parse(const char *text, time_t *ret, struct vf_err *err)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, s;

	if (strlen(text) != VF_TUF_TIME_LEN || text[4] != '-' || text[7] != '-' ||
	    text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z' ||
	    digits(text, 4, &y) || digits(text + 5, 2, &mo) || digits(text + 8, 2, &d) ||
	    digits(text + 11, 2, &h) || digits(text + 14, 2, &mi) || digits(text + 17, 2, &s))
		return vf_err_set(err, EINVAL, "expected a time \"YYYY-MM-DDTHH:MM:SSZ\", got \"%.40s\"",
				  text);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && is_leap(y)) || h > 23 || mi > 59 || s > 59)
		return vf_err_set(err, EINVAL, "no such time: \"%s\"", text);
	*ret = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s);
	return 0;
}

int vf_tuf_time_format(time_t t, char out[VF_TUF_TIME_LEN + 1])
{
	static const int64_t min = -62135596800LL;  /* 0001-01-01T00:00:00Z */
	static const int64_t max = 253402300799LL;  /* 9999-12-31T23:59:59Z */
	int64_t v = (int64_t)t, days, secs, y;
	unsigned m, d;
	char tmp[64];

	if (v < min || v > max)
		return -ERANGE;
	days = v >= 0 ? v / 86400 : -((-v + 86399) / 86400);
	secs = v - days * 86400;
	civil_from_days(days, &y, &m, &d);
	snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, m, d,
		 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
	memcpy(out, tmp, VF_TUF_TIME_LEN + 1);
	return 0;
}

bool vf_tuf_md_is_expired(const struct vf_tuf_md *md, time_t now)
{
	return now >= md->expires;
}

int vf_tuf_md_verify_expiry(const struct vf_tuf_md *md, time_t now, struct vf_err *err)
{
	char exp[VF_TUF_TIME_LEN + 1] = "?", cur[VF_TUF_TIME_LEN + 1] = "?";

	if (!vf_tuf_md_is_expired(md, now))
		return 0;
	vf_tuf_time_format(md->expires, exp);
	vf_tuf_time_format(now, cur);
	return vf_err_set(err, VF_EVERIFY, "%s metadata version %llu expired at %s (now %s)",
			  vf_tuf_type_name(md->type), (unsigned long long)md->version, exp, cur);
}

/* ---- hashes ------------------------------------------------------------------------ */

int vf_tuf_hashes_build(const void *data, size_t len, bool sha512, struct vf_tuf_hashes *ret,
			struct vf_err *err)
{
	uint8_t d[64];

	memset(ret, 0, sizeof(*ret));
	if (vf_digest_buffer(vf_digest_alg_get("sha256"), data, len, d))
		return vf_err_set(err, EIO, "sha256 failed");
	vf_hex_format(d, 32, ret->sha256);
	if (sha512) {
		if (vf_digest_buffer(vf_digest_alg_get("sha512"), data, len, d))
			return vf_err_set(err, EIO, "sha512 failed");
		vf_hex_format(d, 64, ret->sha512);
	}
	return 0;
}

int vf_tuf_hashes_build_file(const char *path, bool sha512, uint64_t *ret_len,
			     struct vf_tuf_hashes *ret, struct vf_err *err)
{
	struct vf_digest *d256 = vf_digest_new(vf_digest_alg_get("sha256"));
	struct vf_digest *d512 = sha512 ? vf_digest_new(vf_digest_alg_get("sha512")) : NULL;
	size_t bufsize = 1 << 16;
	uint8_t *buf = malloc(bufsize), out[64];
	uint64_t off = 0;
	int fd = -1, r = 0;

	memset(ret, 0, sizeof(*ret));
	if (!d256 || (sha512 && !d512) || !buf) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = vf_err_sys(err, errno, "'%s'", path);
		goto out;
	}
	for (;;) {
		int64_t got = vf_fs_pread_full(fd, buf, bufsize, off);

		if (got < 0) {
			r = vf_err_sys(err, (int)-got, "'%s': read", path);
			goto out;
		}
		if (!got)
			break;
		if (vf_digest_update(d256, buf, (size_t)got) ||
		    (d512 && vf_digest_update(d512, buf, (size_t)got))) {
			r = vf_err_set(err, EIO, "'%s': hashing failed", path);
			goto out;
		}
		off += (uint64_t)got;
	}
	if (vf_digest_final(d256, out)) {
		r = vf_err_set(err, EIO, "'%s': hashing failed", path);
		goto out;
	}
	vf_hex_format(out, 32, ret->sha256);
	if (d512) {
		if (vf_digest_final(d512, out)) {
			r = vf_err_set(err, EIO, "'%s': hashing failed", path);
			goto out;
		}
		vf_hex_format(out, 64, ret->sha512);
	}
	*ret_len = off;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	vf_digest_free(d512);
	vf_digest_free(d256);
	return r;
}

int vf_tuf_hashes_verify(const struct vf_tuf_hashes *hashes, const void *data, size_t len,
			 struct vf_err *err)
{
	struct vf_tuf_hashes got;
	int r;

	if (!hashes->sha256[0] && !hashes->sha512[0])
		return vf_err_set(err, VF_EVERIFY, "no hashes to check against");
	if ((r = vf_tuf_hashes_build(data, len, hashes->sha512[0] != 0, &got, err)))
		return r;
	if (hashes->sha256[0] && strcasecmp(hashes->sha256, got.sha256) != 0)
		return vf_err_set(err, VF_EVERIFY, "sha256 mismatch: expected %s, got %s",
				  hashes->sha256, got.sha256);
	if (hashes->sha512[0] && strcasecmp(hashes->sha512, got.sha512) != 0)
		return vf_err_set(err, VF_EVERIFY, "sha512 mismatch: expected %s, got %s",
				  hashes->sha512, got.sha512);
	return 0;
}

/* ---- paths and hash bins ----------------------------------------------------------- */

/* python-tuf's _is_target_in_pathpattern: equal segment counts, fnmatch per segment. */
static int pattern_matches(const char *pattern, const char *path)
{
	size_t plen = strlen(pattern), tlen = strlen(path);
	char *p = malloc(plen + 1), *t = malloc(tlen + 1), *ps, *ts, *pe, *te;
	int r = 1;

	if (!p || !t) {
		free(p);
		free(t);
		return -ENOMEM;
	}
	memcpy(p, pattern, plen + 1);
	memcpy(t, path, tlen + 1);
	for (ps = p, ts = t;; ps = pe + 1, ts = te + 1) {
		pe = strchr(ps, '/');
		te = strchr(ts, '/');
		if (!pe != !te) {
			r = 0;
			break;
		}
		if (pe)
			*pe = 0, *te = 0;
		if (fnmatch(ps, ts, FNM_NOESCAPE) != 0) {
			r = 0;
			break;
		}
		if (!pe)
			break;
	}
	free(p);
	free(t);
	return r;
}

int vf_tuf_role_has_path(const struct vf_tuf_role *role, const char *path)
{
	char hash[65];
	int r;

	if (role->has_paths) {
		for (size_t i = 0; i < role->n_paths; i++)
			if ((r = pattern_matches(role->paths[i], path)) != 0)
				return r;
		return 0;
	}
	if (!role->n_paths)
		return 0;
	if ((r = vf_tuf_sha256_hex(path, strlen(path), hash)))
		return r;
	for (size_t i = 0; i < role->n_paths; i++)
		if (strncmp(hash, role->paths[i], strlen(role->paths[i])) == 0)
			return 1;
	return 0;
}

int vf_tuf_bin_index(const char *path, unsigned bit_length, uint32_t *ret, struct vf_err *err)
{
	uint8_t d[32];
	uint32_t v;

	if (bit_length < 1 || bit_length > 32)
		return vf_err_set(err, EINVAL, "bit_length must be 1..32, got %u", bit_length);
	if (vf_digest_buffer(vf_digest_alg_get("sha256"), path, strlen(path), d))
		return vf_err_set(err, EIO, "sha256 failed");
	v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	*ret = (uint32_t)((uint64_t)v >> (32 - bit_length));
	return 0;
}

int vf_tuf_bin_name(const char *prefix, unsigned bit_length, uint32_t index, char **ret,
		    struct vf_err *err)
{
	int width = (int)(bit_length + 3) / 4;

	if (bit_length < 1 || bit_length > 32)
		return vf_err_set(err, EINVAL, "bit_length must be 1..32, got %u", bit_length);
	if (bit_length < 32 && index >> bit_length)
		return vf_err_set(err, ERANGE, "bin %u does not exist with %u bits", index,
				  bit_length);
	if (asprintf(ret, "%s-%0*x", prefix, width, index) < 0)
		return vf_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int vf_tuf_bin_name_for_path(const char *prefix, unsigned bit_length, const char *path,
			     char **ret, struct vf_err *err)
{
	uint32_t i;
	int r;

	if ((r = vf_tuf_bin_index(path, bit_length, &i, err)))
		return r;
	return vf_tuf_bin_name(prefix, bit_length, i, ret, err);
}

bool vf_tuf_succinct_has_role(const struct vf_tuf_succinct *s, const char *name,
			      uint32_t *ret_index)
{
	size_t plen = strlen(s->name_prefix), width = (s->bit_length + 3) / 4;
	uint64_t v = 0;
	const char *p;

	if (s->bit_length < 1 || s->bit_length > 32 || strncmp(name, s->name_prefix, plen) != 0 ||
	    name[plen] != '-')
		return false;
	p = name + plen + 1;
	if (strlen(p) != width)
		return false;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9')
			v = v * 16 + (uint64_t)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			v = v * 16 + (uint64_t)(*p - 'a' + 10);
		else
			return false;
	}
	if (v >> s->bit_length)
		return false;
	if (ret_index)
		*ret_index = (uint32_t)v;
	return true;
}

/* ---- file names ------------------------------------------------------------------ */

int vf_tuf_role_filename(const char *role, uint64_t version, char **ret, struct vf_err *err)
{
	size_t n = strlen(role), len = 0;
	char *out = malloc(3 * n + 32);

	if (!out)
		return vf_err_set(err, ENOMEM, "out of memory");
	if (version)
		len += (size_t)sprintf(out, "%llu.", (unsigned long long)version);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)role[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			out[len++] = (char)c;
		else
			len += (size_t)sprintf(out + len, "%%%02X", c);
	}
	memcpy(out + len, ".json", 6);
	*ret = out;
	return 0;
}

int vf_tuf_target_filename(const char *path, const char *hash_hex, char **ret,
			   struct vf_err *err)
{
	const char *slash = strrchr(path, '/');
	int dir = slash ? (int)(slash - path + 1) : 0;

	if (asprintf(ret, "%.*s%s.%s", dir, path, hash_hex, path + dir) < 0)
		return vf_err_set(err, ENOMEM, "out of memory");
	return 0;
}
