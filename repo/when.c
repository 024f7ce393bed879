/*
 * repo: points in time and durations for --expires and --within:
 * RFC 3339 timestamps or durations such as "7d" and "12h30m".
 */
#include "repo/repo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int64_t vf_repo_default_lifetime(enum vf_tuf_type type)
{
	switch (type) {
	case VF_TUF_ROOT:
		return VF_REPO_LIFETIME_ROOT;
	case VF_TUF_TARGETS:
		return VF_REPO_LIFETIME_TARGETS;
	case VF_TUF_SNAPSHOT:
		return VF_REPO_LIFETIME_SNAPSHOT;
	case VF_TUF_TIMESTAMP:
		return VF_REPO_LIFETIME_TIMESTAMP;
	}
	return VF_REPO_LIFETIME_TARGETS;
}

/* Largest duration accepted: 100 years, far below any overflow. */
#define MAX_DURATION ((int64_t)100 * 366 * 86400)

int vf_repo_parse_duration(const char *text, int64_t *ret, struct vf_err *err)
{
	const char *p = text;
	int64_t total = 0;

	if (!*p)
		goto bad;
	while (*p) {
		int64_t n = 0, unit;

		if (*p < '0' || *p > '9')
			goto bad;
		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (*p - '0');
			if (n > MAX_DURATION)
				goto range;
			p++;
		}
		switch (*p) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		case 'y': unit = 365 * 86400; break;
		default: goto bad;
		}
		p++;
		if (n > MAX_DURATION / unit)
			goto range;
		total += n * unit;
		if (total > MAX_DURATION)
			goto range;
	}
	*ret = total;
	return 0;
bad:
	return vf_err_set(err, EINVAL, "\"%.60s\": expected a duration such as 7d, 12h or 1y30d "
			  "(units s, m, h, d, w, y)", text);
range:
	return vf_err_set(err, ERANGE, "\"%.60s\": duration longer than 100 years", text);
}

/* Parse N decimal digits exactly. */
static int ndigits(const char *s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return 0;
}

/* RFC 3339 date-time with "Z" or a numeric offset; no fractions. */
static int parse_rfc3339(const char *text, time_t *ret, struct vf_err *err)
{
	char utc[VF_TUF_TIME_LEN + 1];
	size_t len = strlen(text);
	int oh = 0, om = 0, sign = 0;
	time_t t;
	int r;

	if (len < 20 || len > 25)
		goto bad;
	if (len > 19 && text[19] == '.')
		return vf_err_set(err, EINVAL, "\"%.60s\": fractional seconds are not allowed "
				  "(TUF expiry is whole seconds)", text);
	if (len == 20 && (text[19] == 'Z' || text[19] == 'z')) {
		sign = 0;
	} else if (len == 25 && (text[19] == '+' || text[19] == '-') && text[22] == ':' &&
		   !ndigits(text + 20, 2, &oh) && !ndigits(text + 23, 2, &om) && oh < 24 &&
		   om < 60) {
		sign = text[19] == '+' ? 1 : -1;
	} else {
		goto bad;
	}
	memcpy(utc, text, 19);
	utc[10] = 'T';
	utc[19] = 'Z';
	utc[20] = '\0';
	if ((text[10] != 'T' && text[10] != 't') ||
	    (r = vf_tuf_time_parse(utc, &t, NULL)) != 0)
		goto bad;
	t -= (time_t)sign * (oh * 3600 + om * 60);
	*ret = t;
	return 0;
bad:
	return vf_err_set(err, EINVAL, "\"%.60s\": expected an RFC 3339 time such as "
			  "2027-01-31T00:00:00Z or a duration such as 7d", text);
}

int vf_repo_parse_when(const char *text, time_t now, time_t *ret, struct vf_err *err)
{
	int64_t d;
	int r;

	if (strlen(text) >= 10 && text[4] == '-')
		return parse_rfc3339(text, ret, err);
	if ((r = vf_repo_parse_duration(text, &d, err)))
		return r;
	*ret = now + (time_t)d;
	return 0;
}
