/*
 * SELinux labelling with file_contexts semantics (docs/policy.md).
 *
 * Each rule's regex is compiled once, anchored as ^(regex)$, and matched
 * against "/" + the entry's path. Rules are tried from the last to the first,
 * so the first hit is the last matching rule, which wins. Before regexec()
 * two cheap tests run: a regex that is a plain literal is compared with
 * strcmp(), and otherwise the regex's literal prefix (the bytes before its
 * first metacharacter, less one when a quantifier follows) must start the
 * path. Labelling is done under a thread-local "C" locale so that the result
 * does not depend on the caller's locale: paths are bytes.
 */
#include "builder/tree/policy.h"
#include "builder/tree/tree_internal.h"

#include <errno.h>
#include <locale.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define XATTR_SELINUX "security.selinux"

struct rule {
	regex_t re;
	bool compiled;
	unsigned types;     /* bit (1u << vf_tree_type) per accepted type; 0: any */
	char *prefix;       /* literal prefix, possibly empty */
	size_t prefix_len;
	bool literal;       /* the whole regex is `prefix`: compare exactly */
	const char *label;
};

static const struct {
	const char *name;
	unsigned types;
} type_names[] = {
	{ "file", 1u << VF_TREE_FILE | 1u << VF_TREE_HARDLINK },
	{ "dir", 1u << VF_TREE_DIR },
	{ "symlink", 1u << VF_TREE_SYMLINK },
	{ "char", 1u << VF_TREE_CHR },
	{ "block", 1u << VF_TREE_BLK },
	{ "fifo", 1u << VF_TREE_FIFO },
	{ "socket", 1u << VF_TREE_SOCK },
	/* the spellings of file_contexts itself */
	{ "--", 1u << VF_TREE_FILE | 1u << VF_TREE_HARDLINK },
	{ "-d", 1u << VF_TREE_DIR },
	{ "-l", 1u << VF_TREE_SYMLINK },
	{ "-c", 1u << VF_TREE_CHR },
	{ "-b", 1u << VF_TREE_BLK },
	{ "-p", 1u << VF_TREE_FIFO },
	{ "-s", 1u << VF_TREE_SOCK },
};

static bool is_meta(char c)
{
	return c && strchr(".[]()*+?{}|^$", c) != NULL;
}

static bool is_quantifier(char c)
{
	return c == '*' || c == '+' || c == '?' || c == '{';
}

/*
 * The literal bytes every match must start with. Returns a malloc'd string
 * (NULL on ENOMEM); *whole says whether the regex is exactly that literal.
 * Any '|' disables the prefix: an alternation can start anywhere.
 */
static char *literal_prefix(const char *re, bool *whole)
{
	size_t len = strlen(re), n = 0, last = 0, i = 0;
	char *out = malloc(len + 1);

	*whole = false;
	if (!out)
		return NULL;
	if (strchr(re, '|')) {
		out[0] = '\0';
		return out;
	}
	while (re[i]) {
		char c = re[i];

		if (is_meta(c))
			break;
		if (c == '\\') {
			char next = re[i + 1];

			/* \w, \1, \b ...: GNU specials, not literals */
			if (!next || (next >= '0' && next <= '9') || (next >= 'a' && next <= 'z') ||
			    (next >= 'A' && next <= 'Z') || next == '<' || next == '>' || next == '`' ||
			    next == '\'')
				break;
			last = n;
			out[n++] = next;
			i += 2;
			continue;
		}
		last = n;
		out[n++] = c;
		i++;
	}
	if (!re[i])
		*whole = true;
	else if (n && is_quantifier(re[i]))
		n = last;  /* "ab*": the 'b' is optional */
	out[n] = '\0';
	return out;
}

static int compile_rule(struct rule *r, size_t index, const struct vf_label_rule *in,
			struct vf_err *err)
{
	char msg[256], *anchored = NULL;
	regex_t probe;
	size_t len;
	int rc;

	if (!in->regex || !in->label)
		return vf_err_set(err, EINVAL, "file_contexts rule %zu: missing %s", index,
				  in->regex ? "label" : "regex");
	if (in->type) {
		size_t k;

		for (k = 0; k < sizeof(type_names) / sizeof(type_names[0]); k++)
			if (strcmp(in->type, type_names[k].name) == 0)
				break;
		if (k == sizeof(type_names) / sizeof(type_names[0]))
			return vf_err_set(err, EINVAL,
					  "file_contexts rule %zu ('%s'): unknown file type '%s': expected "
					  "file, dir, symlink, char, block, fifo or socket",
					  index, in->regex, in->type);
		r->types = type_names[k].types;
	}
	r->label = in->label;

	/* the regex alone first: "a)(b" must not pass because the anchors balance it */
	rc = regcomp(&probe, in->regex, REG_EXTENDED | REG_NOSUB);
	if (rc == 0) {
		regfree(&probe);
		len = strlen(in->regex) + 5;
		anchored = malloc(len);
		if (!anchored)
			return vf_err_set(err, ENOMEM, "out of memory");
		memcpy(anchored, "^(", 2);
		memcpy(anchored + 2, in->regex, len - 5);
		memcpy(anchored + len - 3, ")$", 3);
		rc = regcomp(&r->re, anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (rc == 0)
			r->compiled = true;
		else
			regerror(rc, &r->re, msg, sizeof(msg));
	} else {
		regerror(rc, &probe, msg, sizeof(msg));
	}
	if (rc)
		return vf_err_set(err, EINVAL, "file_contexts rule %zu: regex '%s' does not compile: %s",
				  index, in->regex, msg);
	r->prefix = literal_prefix(in->regex, &r->literal);
	if (!r->prefix)
		return vf_err_set(err, ENOMEM, "out of memory");
	r->prefix_len = strlen(r->prefix);
	return 0;
}

static bool rule_matches(const struct rule *r, enum vf_tree_type type, const char *path)
{
	if (r->types && !(r->types & (1u << type)))
		return false;
	if (r->literal)
		return strcmp(path, r->prefix) == 0;
	if (r->prefix_len && strncmp(path, r->prefix, r->prefix_len) != 0)
		return false;
	return regexec(&r->re, path, 0, NULL, 0) == 0;
}

/* Label every entry; runs with the rules compiled. */
static int label_all(struct vf_tree *t, const struct rule *rules, size_t n_rules,
		     const char *default_label, struct vf_err *err)
{
	size_t cap = 256, count = vf_tree_count(t);
	char *path = malloc(cap);
	int r = 0;

	if (!path)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		const struct vf_tree_entry *e = vf_tree_at(t, i);
		size_t len = strlen(e->path);
		const char *label = default_label;

		if (len + 2 > cap) {
			char *bigger;

			while (len + 2 > cap)
				cap *= 2;
			bigger = realloc(path, cap);
			if (!bigger) {
				r = vf_err_set(err, ENOMEM, "out of memory");
				break;
			}
			path = bigger;
		}
		path[0] = '/';
		memcpy(path + 1, e->path, len + 1);

		for (size_t k = n_rules; k-- > 0;) {
			if (rule_matches(&rules[k], e->type, path)) {
				label = rules[k].label;
				break;
			}
		}
		if (!label) {
			char esc[VF_TREE_ESC_MAX];

			r = vf_err_set(err, ENOENT,
				       "path '%s': no file_contexts rule matches and there is no "
				       "default label", vf_tree_escape(path, esc, sizeof(esc)));
			break;
		}
		r = vf_tree_set_xattr(t, e->path, XATTR_SELINUX, label, strlen(label) + 1, err);
		if (r)
			break;  /* the tree's message names the path */
	}
	free(path);
	return r;
}

int vf_tree_label(struct vf_tree *t, const struct vf_label_rule *rules, size_t n_rules,
		  const char *default_label, struct vf_err *err)
{
	locale_t c_locale = (locale_t)0, old = (locale_t)0;
	struct rule *compiled = NULL;
	int r = 0;

	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	compiled = calloc(n_rules ? n_rules : 1, sizeof(*compiled));
	if (!c_locale || !compiled) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	old = uselocale(c_locale);
	for (size_t i = 0; i < n_rules; i++)
		if ((r = compile_rule(&compiled[i], i, &rules[i], err)))
			goto out;
	r = label_all(t, compiled, n_rules, default_label, err);
out:
	if (compiled) {
		for (size_t i = 0; i < n_rules; i++) {
			if (compiled[i].compiled)
				regfree(&compiled[i].re);
			free(compiled[i].prefix);
		}
		free(compiled);
	}
	if (old)
		uselocale(old);
	if (c_locale)
		freelocale(c_locale);
	return r;
}
