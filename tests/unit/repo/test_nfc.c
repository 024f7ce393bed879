/* repo/nfc: the exact NFC test behind canonical JSON, against Unicode's own
 * NormalizationTest data (a committed sample, and the full file when the
 * unicode-data package is installed) and hand-picked cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "repo/internal.h"
#include "tests/unit/testutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KNOWN_ANSWERS "tests/vectors/cjson/nfc-known-answers.txt"
#define UCD_TEST "/usr/share/unicode/NormalizationTest.txt.bz2"

/* Encode code points as UTF-8 into out (room for 4 * n + 1 bytes). */
static size_t utf8_of(const uint32_t *cps, size_t n, uint8_t *out)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t c = cps[i];

		if (c < 0x80) {
			out[len++] = (uint8_t)c;
		} else if (c < 0x800) {
			out[len++] = (uint8_t)(0xC0 | (c >> 6));
			out[len++] = (uint8_t)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			out[len++] = (uint8_t)(0xE0 | (c >> 12));
			out[len++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
			out[len++] = (uint8_t)(0x80 | (c & 0x3F));
		} else {
			out[len++] = (uint8_t)(0xF0 | (c >> 18));
			out[len++] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
			out[len++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
			out[len++] = (uint8_t)(0x80 | (c & 0x3F));
		}
	}
	out[len] = 0;
	return len;
}

/* Parse "0044 0307" into cps; returns the count. */
static size_t parse_cps(const char *text, uint32_t *cps, size_t max)
{
	size_t n = 0;
	char *end;

	for (;;) {
		unsigned long v;

		while (*text == ' ')
			text++;
		if (!isxdigit((unsigned char)*text))
			break;
		v = strtoul(text, &end, 16);
		assert_true(end != text);
		assert_true(n < max);
		cps[n++] = (uint32_t)v;
		text = end;
	}
	return n;
}

static int is_nfc_cps(const uint32_t *cps, size_t n)
{
	uint8_t buf[4 * 64 + 1];

	assert_true(n <= 64);
	return vf_nfc_check(buf, utf8_of(cps, n, buf));
}

static int is_nfc(const char *s)
{
	return vf_nfc_check((const uint8_t *)s, strlen(s));
}

static void test_constructed_cases(void **state)
{
	(void)state;
	assert_int_equal(vf_nfc_unicode_version[0], '1'); /* 15.0.0 at the time of writing */
	assert_int_equal(is_nfc(""), 1);
	assert_int_equal(is_nfc("plain ascii / path.txt"), 1);
	/* precomposed vs decomposed */
	assert_int_equal(is_nfc("caf\xc3\xa9"), 1);         /* U+00E9 */
	assert_int_equal(is_nfc("cafe\xcc\x81"), 0);        /* e U+0301 */
	assert_int_equal(is_nfc("\xc3\x85"), 1);            /* U+00C5 */
	assert_int_equal(is_nfc("A\xcc\x8a"), 0);           /* A U+030A */
	/* singletons never appear in NFC */
	assert_int_equal(is_nfc("\xe2\x84\xab"), 0);        /* U+212B ANGSTROM SIGN */
	assert_int_equal(is_nfc("\xe2\x84\xa6"), 0);        /* U+2126 OHM SIGN */
	assert_int_equal(is_nfc("\xcd\xb4"), 0);            /* U+0374 -> U+02B9 */
	/* Hangul: syllables are NFC, conjoining jamo that compose are not */
	assert_int_equal(is_nfc("\xea\xb0\x80"), 1);        /* U+AC00 */
	assert_int_equal(is_nfc("\xe1\x84\x80\xe1\x85\xa1"), 0); /* U+1100 U+1161 */
	assert_int_equal(is_nfc("\xe1\x84\x80"), 1);        /* U+1100 alone */
	assert_int_equal(is_nfc("\xea\xb0\x80\xe1\x86\xa8"), 0); /* U+AC00 U+11A8 -> U+AC01 */
	assert_int_equal(is_nfc("\xea\xb0\x81"), 1);        /* U+AC01 */
	/* composition exclusions: U+0958 decomposes and never recomposes */
	assert_int_equal(is_nfc("\xe0\xa5\x98"), 0);
	assert_int_equal(is_nfc("\xe0\xa4\x95\xe0\xa4\xbc"), 1); /* U+0915 U+093C */
	/* canonical order and blocking */
	assert_int_equal(is_nfc("a\xcc\xa3\xcc\x82"), 0);   /* a U+0323 U+0302 -> U+1EAD */
	assert_int_equal(is_nfc("\xe1\xba\xad"), 1);        /* U+1EAD */
	assert_int_equal(is_nfc("\xe1\xba\xa1\xcc\x82"), 0); /* U+1EA1 U+0302 -> U+1EAD */
	assert_int_equal(is_nfc("a\xcc\x82\xcc\xa3"), 0);   /* marks out of canonical order */
	assert_int_equal(is_nfc("a\xcc\x85\xcc\x81"), 1);   /* U+0301 blocked by U+0305 (same class) */
	/* a leading combining mark is fine */
	assert_int_equal(is_nfc("\xcc\x81"), 1);
	/* astral characters */
	assert_int_equal(is_nfc("\xf0\x9f\x98\x80"), 1);    /* U+1F600 */
	assert_int_equal(is_nfc("\xf0\x9d\x85\x9e"), 0);    /* U+1D15E (excluded) */
	/* invalid UTF-8 is reported as such */
	assert_int_equal(is_nfc("\xc3"), -EILSEQ);
	assert_int_equal(is_nfc("\xed\xa0\x80"), -EILSEQ);  /* surrogate U+D800 */
	assert_int_equal(is_nfc("\xc0\x80"), -EILSEQ);      /* overlong NUL */
	assert_int_equal(is_nfc("\xf4\x90\x80\x80"), -EILSEQ); /* above U+10FFFF */
}

static void test_utf8(void **state)
{
	size_t off = 99, pos = 0;
	uint32_t cp;

	(void)state;
	assert_true(vf_utf8_is_valid((const uint8_t *)"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10, NULL));
	assert_false(vf_utf8_is_valid((const uint8_t *)"ab\xe0\x80\x80", 5, &off)); /* overlong */
	assert_int_equal(off, 2);
	assert_false(vf_utf8_is_valid((const uint8_t *)"\x80", 1, &off));
	assert_false(vf_utf8_is_valid((const uint8_t *)"\xe2\x82", 2, &off)); /* truncated */
	assert_int_equal(vf_utf8_next((const uint8_t *)"\xf0\x9f\x98\x80", 4, &pos, &cp), 0);
	assert_int_equal(cp, 0x1F600);
	assert_int_equal(pos, 4);
}

/* Every line of the committed sample of NormalizationTest. */
static void test_known_answers(void **state)
{
	FILE *f = fopen(KNOWN_ANSWERS, "r");
	char line[1024];
	unsigned n = 0, no = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		uint32_t cps[64];
		size_t k;
		int want;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		want = strstr(line, "not-nfc") ? 0 : 1;
		assert_true(want == 0 || strstr(line, " nfc"));
		k = parse_cps(line, cps, 64);
		if (is_nfc_cps(cps, k) != want)
			fail_msg("known answer %s", line);
		n++, no += !want;
	}
	fclose(f);
	assert_true(n > 3000);
	assert_true(no > 1000);
}

/* The whole NormalizationTest.txt when it is installed and of our version:
 * for each line c1..c5, NFC(c1..c3) = c2 and NFC(c4, c5) = c4. */
static void test_full_normalization_test(void **state)
{
	char cmd[256], line[2048], want_version[64];
	FILE *f;
	unsigned n = 0;
	uint32_t *norm = malloc(64 * VF_NFC_MAX_DECOMP * sizeof(*norm));

	(void)state;
	assert_non_null(norm);
	if (access(UCD_TEST, R_OK) != 0) {
		free(norm);
		print_message("skipping: %s not installed (Debian package unicode-data)\n", UCD_TEST);
		skip();
	}
	snprintf(cmd, sizeof(cmd), "bzcat %s", UCD_TEST);
	f = popen(cmd, "r");
	assert_non_null(f);
	snprintf(want_version, sizeof(want_version), "NormalizationTest-%s.txt",
		 vf_nfc_unicode_version);
	assert_non_null(fgets(line, sizeof(line), f));
	if (!strstr(line, want_version)) {
		pclose(f);
		free(norm);
		print_message("skipping: installed %s is not %s\n", UCD_TEST, want_version);
		skip();
	}
	while (fgets(line, sizeof(line), f)) {
		uint32_t col[5][64];
		size_t len[5];
		char *p = line;

		if (line[0] == '#' || line[0] == '@' || line[0] == '\n')
			continue;
		for (int c = 0; c < 5; c++) {
			len[c] = parse_cps(p, col[c], 64);
			p = strchr(p, ';');
			assert_non_null(p);
			p++;
		}
		for (int c = 0; c < 5; c++) {
			int target = c < 3 ? 1 : 3;
			size_t m = vf_nfc_normalize(col[c], len[c], norm);

			if (m != len[target] || memcmp(norm, col[target], m * sizeof(*norm)))
				fail_msg("NFC of column %d differs: %s", c + 1, line);
			if (is_nfc_cps(col[c], len[c]) !=
			    (len[c] == len[target] &&
			     !memcmp(col[c], col[target], len[c] * sizeof(uint32_t))))
				fail_msg("is-NFC of column %d wrong: %s", c + 1, line);
		}
		n++;
	}
	assert_int_equal(pclose(f), 0);
	free(norm);
	assert_true(n > 19000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constructed_cases),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_full_normalization_test),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
