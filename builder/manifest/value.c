/* builder/manifest: value grammars (names, versions, sizes, modes, paths,
 * labels, regexes) and host path helpers. */
#include "builder/manifest/internal.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *vf_manifest_show(const char *s, char out[VF_MANIFEST_SHOW_MAX])
{
	size_t o = 0;

	out[o++] = '\'';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		size_t n;

		if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
		else if (c == '\'' || c == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else
			esc[0] = (char)c, n = 1;
		/* keep room for "...'" and the NUL */
		if (o + n > VF_MANIFEST_SHOW_MAX - 5) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool vf_manifest_is_name(const char *s, bool pkg)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !is_lower_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (is_lower_alnum(c) || c == '-')
			continue;
		if (pkg && (c == '.' || c == '_' || c == '+'))
			continue;
		return false;
	}
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* A numeric identifier: "0" or no leading zero. Advances *p. */
static bool semver_number(const char **p)
{
	const char *s = *p;

	if (!is_digit(*s))
		return false;
	if (*s == '0' && is_digit(s[1]))
		return false;
	while (is_digit(*s))
		s++;
	*p = s;
	return true;
}

/* Dot-separated identifiers up to '+' or the end; numeric ones without leading zeros. */
static bool semver_idents(const char **p, bool prerelease)
{
	const char *s = *p;

	for (;;) {
		const char *start = s;
		bool numeric = true;

		while (is_ident_char(*s)) {
			if (!is_digit(*s))
				numeric = false;
			s++;
		}
		if (s == start)
			return false;
		if (prerelease && numeric && *start == '0' && s - start > 1)
			return false;
		if (*s != '.')
			break;
		s++;
	}
	*p = s;
	return true;
}

bool vf_manifest_is_semver(const char *s)
{
	if (strlen(s) > 256)
		return false;
	if (!semver_number(&s) || *s++ != '.' || !semver_number(&s) || *s++ != '.' ||
	    !semver_number(&s))
		return false;
	if (*s == '-') {
		s++;
		if (!semver_idents(&s, true))
			return false;
	}
	if (*s == '+') {
		s++;
		if (!semver_idents(&s, false))
			return false;
	}
	return *s == '\0';
}

int vf_manifest_parse_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{ "", 0 }, { "B", 0 }, { "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 }, { "TiB", 40 },
	};
	uint64_t v = 0;
	const char *p = s;

	if (!is_digit(*p))
		return -EINVAL;
	for (; is_digit(*p); p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
			/* still tell junk from overflow */
			while (is_digit(*p))
				p++;
			for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (strcmp(p, units[i].suffix) == 0)
					return -ERANGE;
			return -EINVAL;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix) != 0)
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return -ERANGE;
		*ret = v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

int vf_manifest_parse_mode(const char *s, uint32_t *ret)
{
	uint32_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return -EINVAL;
		v = v * 8 + (uint32_t)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

const char *vf_manifest_image_path_problem(const char *s, size_t len)
{
	const char *p;

	if (strlen(s) != len)
		return "contains a NUL byte";
	if (len == 0)
		return "is empty";
	if (s[0] != '/')
		return "is not absolute";
	if (len == 1)
		return "is the root directory itself";
	if (len > VF_MANIFEST_PATH_MAX)
		return "is longer than 4095 bytes";
	if (s[len - 1] == '/')
		return "ends with '/'";
	for (p = s; *p;) {
		const char *c = p + 1, *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if (n == 0)
			return "has an empty component ('//')";
		if (n == 1 && c[0] == '.')
			return "has a '.' component";
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return "has a '..' component";
		if (n > VF_MANIFEST_NAME_MAX)
			return "has a component longer than 255 bytes";
		p = c + n;
	}
	return NULL;
}

static bool is_label_char(char c, bool level)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
		return true;
	if (c == '_' || c == '.' || c == ',' || c == '-')
		return true;
	return level && c == ':';
}

const char *vf_manifest_label_problem(const char *s)
{
	const char *p = s;
	int field;

	if (!*s)
		return "is empty";
	if (strlen(s) > 1024)
		return "is longer than 1024 bytes";
	/* user, role, type: non-empty, then an optional non-empty level */
	for (field = 0; field < 3; field++) {
		const char *start = p;

		while (*p && *p != ':') {
			if (!is_label_char(*p, false))
				return "has a character outside [A-Za-z0-9_.,:-]";
			p++;
		}
		if (p == start)
			return "has an empty field (expected user:role:type[:level])";
		if (field < 2 && *p != ':')
			return "has fewer than 3 fields (expected user:role:type[:level])";
		if (*p == ':')
			p++;
	}
	if (p > s && p[-1] == ':') {
		if (!*p)
			return "has an empty level (expected user:role:type[:level])";
		for (; *p; p++)
			if (!is_label_char(*p, true))
				return "has a character outside [A-Za-z0-9_.,:-]";
		if (p[-1] == ':')
			return "has an empty field (expected user:role:type[:level])";
	}
	return NULL;
}

/*
 * An upper bound of how much glibc's regcomp expands `re`: every atom weighs 1,
 * a {m,n} interval multiplies the weight of what it repeats by max(m,n) and a
 * '+' by 2 (glibc copies the repeated tree that many times). Nested and
 * stacked repetitions multiply. Syntax is left to regcomp; this only has to
 * bound what regcomp would accept. Returns false when a bound exceeds
 * VF_MANIFEST_REGEX_BOUND_MAX or the weight VF_MANIFEST_REGEX_WEIGHT_MAX.
 */
struct weigh {
	const char *p;
	const char *why;
	int depth;
};

static uint64_t weigh_alt(struct weigh *w);

/* Parse "{m}", "{m,}", "{m,n}" at w->p (just past '{'); returns the bound or 0. */
static uint64_t interval_bound(struct weigh *w)
{
	uint64_t m = 0, n = 0;
	bool comma = false, any_n = false;
	const char *p = w->p;

	while (is_digit(*p)) {
		if (m < 100000)
			m = m * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (*p == ',') {
		comma = true;
		p++;
		while (is_digit(*p)) {
			any_n = true;
			if (n < 100000)
				n = n * 10 + (uint64_t)(*p - '0');
			p++;
		}
	}
	if (*p != '}')
		return 0; /* not an interval: regcomp decides */
	w->p = p + 1;
	if (comma && !any_n)
		return m + 1;
	return n > m ? n : m;
}

/* One atom with its quantifiers. */
static uint64_t weigh_piece(struct weigh *w)
{
	uint64_t wt = 1;
	const char *p = w->p;

	if (*p == '(') {
		if (++w->depth > 64) {
			w->why = "nests groups deeper than 64";
			return UINT64_MAX;
		}
		w->p = p + 1;
		wt = weigh_alt(w);
		w->depth--;
		if (*w->p == ')')
			w->p++;
	} else if (*p == '[') {
		p++;
		if (*p == '^')
			p++;
		if (*p == ']')
			p++;
		while (*p && *p != ']') {
			if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
				char close = p[1];

				p += 2;
				while (*p && !(p[0] == close && p[1] == ']'))
					p++;
				if (*p)
					p += 2;
				continue;
			}
			p++;
		}
		if (*p)
			p++;
		w->p = p;
	} else if (*p == '\\' && p[1]) {
		w->p = p + 2;
	} else {
		w->p = p + 1;
	}
	for (;;) {
		uint64_t b;

		if (*w->p == '*' || *w->p == '?') {
			w->p++;
			continue;
		}
		if (*w->p == '+') {
			/* glibc builds x+ as x x*: stacked ones double each time */
			w->p++;
			if (wt > VF_MANIFEST_REGEX_WEIGHT_MAX)
				return UINT64_MAX;
			wt *= 2;
			continue;
		}
		if (*w->p != '{')
			break;
		w->p++;
		b = interval_bound(w);
		if (b == 0) {
			if (w->p[-1] == '{')
				break;
			continue;
		}
		if (b > VF_MANIFEST_REGEX_BOUND_MAX) {
			w->why = "has a repetition bound over 255";
			return UINT64_MAX;
		}
		if (wt > VF_MANIFEST_REGEX_WEIGHT_MAX)
			return UINT64_MAX;
		wt *= b;
	}
	return wt;
}

static uint64_t weigh_alt(struct weigh *w)
{
	uint64_t total = 0;

	while (*w->p && *w->p != ')') {
		uint64_t x;

		if (*w->p == '|') {
			w->p++;
			continue;
		}
		x = weigh_piece(w);
		if (x == UINT64_MAX || total + x > VF_MANIFEST_REGEX_WEIGHT_MAX) {
			if (!w->why)
				w->why = "expands too much (repetitions multiply to over 4096)";
			return UINT64_MAX;
		}
		total += x;
	}
	return total;
}

bool vf_manifest_regex_ok(const char *re, char *why, size_t why_len)
{
	struct weigh w = { re, NULL, 0 };
	char *anchored = NULL;
	regex_t rx;
	int rc;

	if (strlen(re) > VF_MANIFEST_REGEX_MAX) {
		snprintf(why, why_len, "is longer than %d bytes", VF_MANIFEST_REGEX_MAX);
		return false;
	}
	if (weigh_alt(&w) == UINT64_MAX) {
		snprintf(why, why_len, "%s", w.why);
		return false;
	}
	/* a ')' without its '(' would close the anchoring group: "/a)|(.*" */
	if (*w.p == ')') {
		snprintf(why, why_len, "has a ')' without a matching '(' at offset %zu",
			 (size_t)(w.p - re));
		return false;
	}
	if (asprintf(&anchored, "^(%s)$", re) < 0) {
		snprintf(why, why_len, "out of memory");
		return false;
	}
	rc = regcomp(&rx, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (rc != 0) {
		char msg[128];

		regerror(rc, &rx, msg, sizeof(msg));
		snprintf(why, why_len, "does not compile: %s", msg);
		return false;
	}
	regfree(&rx);
	return true;
}

const char *vf_manifest_fmt(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return out;
}

/* ---- host paths ----------------------------------------------------------------- */

char *vf_manifest_path_join(const char *dir, const char *name)
{
	char *out = NULL;
	size_t n = strlen(dir);

	if (name[0] == '/' || strcmp(dir, ".") == 0)
		return strdup(name);
	if (asprintf(&out, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return out;
}

char *vf_manifest_path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return strdup(".");
	/* drop the last component and any slashes before it, but keep a leading "/" */
	n = (size_t)(slash - path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	if (n == 0)
		return strdup("/");
	return strndup(path, n);
}

/* Normalise an absolute path lexically: collapse "//", "." and "..". */
static char *normalize_abs(const char *path)
{
	size_t n = strlen(path), o = 0;
	char *out = malloc(n + 2);
	const char *p = path;

	if (!out)
		return NULL;
	while (*p) {
		const char *c, *end;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		c = p;
		end = strchr(c, '/');
		len = end ? (size_t)(end - c) : strlen(c);
		p = c + len;
		if (len == 1 && c[0] == '.')
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, c, len);
		o += len;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

int vf_manifest_abs_dir(const char *dir, char **ret)
{
	char *real = realpath(dir, NULL), *cwd = NULL, *joined = NULL, *norm;

	if (real) {
		*ret = real;
		return 0;
	}
	if (errno == ENOMEM)
		return -ENOMEM;
	if (dir[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return -errno;
		joined = vf_manifest_path_join(cwd, dir);
		free(cwd);
		if (!joined)
			return -ENOMEM;
	}
	norm = normalize_abs(joined ? joined : dir);
	free(joined);
	if (!norm)
		return -ENOMEM;
	*ret = norm;
	return 0;
}

int vf_manifest_resolve_host(const char *dir, const char *rel, char **ret)
{
	char *full = NULL, *norm = NULL, *parent = NULL, *real = NULL, *out = NULL;
	const char *base;
	int r = -ENOMEM;

	full = vf_manifest_path_join(dir, rel);
	if (!full)
		goto out;
	norm = normalize_abs(full);
	if (!norm)
		goto out;
	/* the lexical form is the fallback; prefer the real directory when it resolves */
	parent = vf_manifest_path_dir(full);
	if (!parent)
		goto out;
	base = strrchr(full, '/');
	base = base ? base + 1 : full;
	real = realpath(parent, NULL);
	if (real && *base && strcmp(base, ".") && strcmp(base, "..")) {
		out = vf_manifest_path_join(real, base);
		if (!out)
			goto out;
	} else {
		out = norm;
		norm = NULL;
	}
	*ret = out;
	r = 0;
out:
	free(real);
	free(parent);
	free(norm);
	free(full);
	return r;
}

/* Length of the component at p (p not at '/'). */
static size_t comp_len(const char *p)
{
	const char *end = strchr(p, '/');

	return end ? (size_t)(end - p) : strlen(p);
}

char *vf_manifest_path_relative(const char *target, const char *base)
{
	const char *t = target, *b = base;
	size_t ups = 0, o = 0, rest_len;
	char *out;

	for (;;) {
		size_t lt, lb;

		while (*t == '/')
			t++;
		while (*b == '/')
			b++;
		if (!*t || !*b)
			break;
		lt = comp_len(t);
		lb = comp_len(b);
		if (lt != lb || memcmp(t, b, lt) != 0)
			break;
		t += lt;
		b += lb;
	}
	while (*b) {
		size_t lb = comp_len(b);

		ups++;
		b += lb;
		while (*b == '/')
			b++;
	}
	rest_len = strlen(t);
	while (rest_len > 0 && t[rest_len - 1] == '/')
		rest_len--;
	out = malloc(ups * 3 + rest_len + 2);
	if (!out)
		return NULL;
	for (size_t i = 0; i < ups; i++) {
		memcpy(out + o, "../", 3);
		o += 3;
	}
	memcpy(out + o, t, rest_len);
	o += rest_len;
	if (o == 0)
		out[o++] = '.';
	else if (out[o - 1] == '/')
		o--;
	out[o] = '\0';
	return out;
}
