/*
 * Glob matching for `remove` and the policy (docs/policy.md).
 *
 * The glob is run as a nondeterministic automaton over the path: a state is a
 * byte offset into the glob where the next token starts, and the set of live
 * states advances one path byte at a time. Every epsilon move goes forward in
 * the glob, so one forward pass computes the closure. Cost is
 * O(strlen(glob) * strlen(path)) whatever the pattern ("*a*a*a*a*b" against
 * 4 KB is a few thousand steps), with no recursion and no backtracking.
 *
 * Tokens: `*` (any run of non-'/' bytes), `**` (a run of two or more stars:
 * any bytes, '/' included), `?` (one non-'/' byte), `[...]` (one non-'/' byte
 * in a class: `!` or `^` negates, `a-z` ranges, `]` first is literal, `\`
 * escapes), `\x` (literal x; a trailing `\` is literal), anything else
 * literal. A `**` followed by '/' that starts the glob or follows a '/' also
 * matches zero components: "**" "/bin/sh" (written apart here only because
 * C comments end at star-slash) matches "/bin/sh" and "bin/sh", and
 * "/usr/" "**" "/bin" matches "/usr/bin". An unterminated `[` is a literal '['.
 */
#include "builder/tree/policy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum tok {
	TOK_LIT,    /* one literal byte */
	TOK_ANY,    /* ? */
	TOK_CLASS,  /* [...] */
	TOK_STAR,   /* * */
	TOK_DSTAR,  /* ** */
};

/* Globs up to this length keep their state sets on the stack. */
#define STACK_STATES 1024

/*
 * Parse the token at g[p]: its kind, the offset just past it, and for a
 * literal the byte it stands for.
 */
static enum tok token_at(const char *g, size_t p, size_t *next, unsigned char *lit)
{
	size_t q;

	switch (g[p]) {
	case '*':
		q = p + 1;
		while (g[q] == '*')
			q++;
		*next = q;
		return q - p >= 2 ? TOK_DSTAR : TOK_STAR;
	case '?':
		*next = p + 1;
		return TOK_ANY;
	case '\\':
		if (g[p + 1]) {
			*lit = (unsigned char)g[p + 1];
			*next = p + 2;
		} else {
			*lit = '\\';
			*next = p + 1;
		}
		return TOK_LIT;
	case '[':
		q = p + 1;
		if (g[q] == '!' || g[q] == '^')
			q++;
		if (g[q] == ']')  /* a leading ']' is a member */
			q++;
		while (g[q] && g[q] != ']') {
			if (g[q] == '\\' && g[q + 1])
				q++;
			q++;
		}
		if (g[q] == ']') {
			*next = q + 1;
			return TOK_CLASS;
		}
		/* unterminated: a literal '[' */
		*lit = '[';
		*next = p + 1;
		return TOK_LIT;
	default:
		*lit = (unsigned char)g[p];
		*next = p + 1;
		return TOK_LIT;
	}
}

/* Read one class member byte at g[*q] (honouring `\`), advancing *q. */
static unsigned char class_byte(const char *g, size_t *q)
{
	if (g[*q] == '\\' && g[*q + 1])
		(*q)++;
	return (unsigned char)g[(*q)++];
}

/* Whether byte c is in the (well-formed) class starting at g[p] == '['. */
static bool class_match(const char *g, size_t p, unsigned char c)
{
	size_t q = p + 1;
	bool neg = false, in = false, first = true;

	if (g[q] == '!' || g[q] == '^') {
		neg = true;
		q++;
	}
	while (first || g[q] != ']') {
		unsigned char lo = class_byte(g, &q), hi = lo;

		first = false;
		if (g[q] == '-' && g[q + 1] && g[q + 1] != ']') {
			q++;
			hi = class_byte(g, &q);
		}
		if (c >= lo && c <= hi)
			in = true;
	}
	return in != neg;
}

/* Whether the `**` at g[p] may also match zero components (it is followed by '/'). */
static bool dstar_skips_slash(const char *g, size_t p, size_t next)
{
	return g[next] == '/' && (p == 0 || g[p - 1] == '/');
}

/*
 * State flags: ENTERED when a state was reached by a transition into it (or is
 * the start), LOOPED when a star consumed a byte and stayed. Only an ENTERED
 * `**` may skip its '/' (zero components): after it consumed bytes, the '/'
 * must be matched for real, or "** /bin" (apart) would match "/usr/sbin".
 */
#define ENTERED 1
#define LOOPED 2

/* Add the epsilon closure to `set` (len+1 states) in one forward pass. */
static void closure(const char *g, size_t len, uint8_t *set)
{
	for (size_t p = 0; p < len; p++) {
		size_t next;
		unsigned char lit;
		enum tok t;

		if (!set[p])
			continue;
		t = token_at(g, p, &next, &lit);
		if (t == TOK_STAR || t == TOK_DSTAR)
			set[next] |= ENTERED;
		if (t == TOK_DSTAR && (set[p] & ENTERED) && dstar_skips_slash(g, p, next))
			set[next + 1] |= ENTERED;
	}
}

bool vf_glob_match(const char *glob, const char *path)
{
	uint8_t stack_cur[STACK_STATES + 1], stack_nxt[STACK_STATES + 1];
	uint8_t *cur = stack_cur, *nxt = stack_nxt, *heap = NULL, *tmp;
	size_t len = strlen(glob);
	bool match;

	if (len > STACK_STATES) {
		heap = calloc(2, len + 1);
		if (!heap)
			return false;  /* cannot happen for any sane glob; never a match */
		cur = heap;
		nxt = heap + len + 1;
	}
	memset(cur, 0, len + 1);
	cur[0] = ENTERED;
	closure(glob, len, cur);

	for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
		bool live = false;

		memset(nxt, 0, len + 1);
		for (size_t p = 0; p < len; p++) {
			size_t next;
			unsigned char lit;

			if (!cur[p])
				continue;
			switch (token_at(glob, p, &next, &lit)) {
			case TOK_LIT:
				if (*s == lit)
					nxt[next] |= ENTERED;
				break;
			case TOK_ANY:
				if (*s != '/')
					nxt[next] |= ENTERED;
				break;
			case TOK_CLASS:
				if (*s != '/' && class_match(glob, p, *s))
					nxt[next] |= ENTERED;
				break;
			case TOK_STAR:
				if (*s != '/')
					nxt[p] |= LOOPED;
				break;
			case TOK_DSTAR:
				nxt[p] |= LOOPED;
				break;
			}
		}
		for (size_t p = 0; p <= len && !live; p++)
			live = nxt[p] != 0;
		if (!live) {
			free(heap);
			return false;
		}
		closure(glob, len, nxt);
		tmp = cur;
		cur = nxt;
		nxt = tmp;
	}
	match = cur[len] != 0;
	free(heap);
	return match;
}
