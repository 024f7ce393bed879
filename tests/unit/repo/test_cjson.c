/* repo/cjson: canonical JSON against securesystemslib's encode_canonical
 * (../shared/vectors/cjson), the strict parser and the encoder's refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "repo/cjson.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VECTORS "../shared/vectors/cjson/securesystemslib-vectors.json"

/* ---- helpers ------------------------------------------------------------------- */

static void skip_ws(const char *s, size_t *pos)
{
	while (s[*pos] == ' ' || s[*pos] == '\n' || s[*pos] == '\t' || s[*pos] == '\r')
		(*pos)++;
}

/* Skip one JSON value starting at *pos (a syntactic scan, strings aware). */
static void skip_value(const char *s, size_t *pos)
{
	int depth = 0;

	skip_ws(s, pos);
	do {
		char c = s[*pos];

		assert_true(c != 0);
		if (c == '"') {
			for ((*pos)++; s[*pos] != '"'; (*pos)++) {
				assert_true(s[*pos] != 0);
				if (s[*pos] == '\\')
					(*pos)++;
			}
			(*pos)++;
		} else if (c == '{' || c == '[') {
			depth++, (*pos)++;
		} else if (c == '}' || c == ']') {
			depth--, (*pos)++;
		} else if (depth == 0) {
			while (s[*pos] && !strchr(",}] \n\t\r", s[*pos]))
				(*pos)++;
		} else {
			(*pos)++;
		}
	} while (depth > 0);
}

static size_t b64_decode(const char *in, size_t n, uint8_t *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t len = 0;

	for (size_t i = 0; i < n && in[i] != '='; i++) {
		const char *p = strchr(tab, in[i]);

		assert_non_null(p);
		acc = (acc << 6) | (uint32_t)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (uint8_t)(acc >> bits);
		}
	}
	return len;
}

struct vector {
	const char *input; /* raw JSON text of "input" */
	size_t input_len;
	uint8_t want[4096];
	size_t want_len;
};

/* Split the vectors file by hand: its inputs hold what strict parsers refuse. */
static size_t load_vectors(char *text, struct vector *v, size_t max)
{
	size_t pos = 0, n = 0;

	skip_ws(text, &pos);
	assert_int_equal(text[pos], '[');
	pos++;
	for (;;) {
		skip_ws(text, &pos);
		if (text[pos] == ']')
			break;
		if (text[pos] == ',') {
			pos++;
			continue;
		}
		assert_int_equal(text[pos], '{');
		assert_true(n < max);
		pos++;
		for (;;) {
			size_t k, start;

			skip_ws(text, &pos);
			if (text[pos] == ',') {
				pos++;
				continue;
			}
			if (text[pos] == '}') {
				pos++;
				break;
			}
			k = pos;
			skip_value(text, &pos);
			skip_ws(text, &pos);
			assert_int_equal(text[pos], ':');
			pos++;
			skip_ws(text, &pos);
			start = pos;
			skip_value(text, &pos);
			if (strncmp(text + k, "\"input\"", 7) == 0) {
				v[n].input = text + start;
				v[n].input_len = pos - start;
			} else if (strncmp(text + k, "\"canonical_b64\"", 15) == 0) {
				assert_true((pos - start - 2) / 4 * 3 <= sizeof(v[n].want));
				v[n].want_len = b64_decode(text + start + 1, pos - start - 2, v[n].want);
			} else {
				fail_msg("unexpected member in vector %zu", n);
			}
		}
		assert_non_null(v[n].input);
		n++;
	}
	return n;
}

/* Parse and encode; returns the first error code, message in *err. */
static int canon(const char *text, size_t len, struct vf_buf *out, struct vf_err *err)
{
	void *j = NULL;
	int r;

	vf_err_clear(err);
	if ((r = vf_cjson_parse(text, len, NULL, &j, err)))
		return r;
	r = vf_cjson_encode(j, out, err);
	json_decref(j);
	return r;
}

static void assert_canon_n(const char *in, const char *want, size_t want_len)
{
	struct vf_buf out = VF_BUF_INIT;
	struct vf_err err = { 0 };

	if (canon(in, strlen(in), &out, &err))
		fail_msg("%s: %s", in, err.msg);
	assert_int_equal(out.len, want_len);
	assert_memory_equal(out.data, want, out.len);
	vf_buf_release(&out);
}

/* `want` is a string literal (it may hold NUL bytes) */
#define assert_canon(in, want) assert_canon_n(in, want, sizeof(want) - 1)

static void assert_parse_fails(const char *in, size_t len, int code, const char *msg)
{
	struct vf_err err = { 0 };
	void *j = (void *)1;

	assert_int_equal(vf_cjson_parse(in, len, NULL, &j, &err), code);
	assert_int_equal(err.code, code);
	vf_test_assert_contains(err.msg, msg);
	assert_ptr_equal(j, (void *)1);
}

static void assert_encode_fails(json_t *j, int code, const char *msg)
{
	struct vf_buf out = VF_BUF_INIT;
	struct vf_err err = { 0 };

	assert_int_equal(vf_buf_add_str(&out, "prefix"), 0);
	assert_int_equal(vf_cjson_encode(j, &out, &err), code);
	vf_test_assert_contains(err.msg, msg);
	/* the buffer is left as it was */
	assert_int_equal(out.len, 6);
	assert_string_equal((char *)out.data, "prefix");
	vf_buf_release(&out);
	json_decref(j);
}

/* ---- securesystemslib known answers ---------------------------------------------- */

static void test_securesystemslib_vectors(void **state)
{
	size_t len, n, equal = 0, refused = 0;
	char *text = (char *)vf_test_read_file(VECTORS, &len);
	struct vector *v = calloc(32, sizeof(*v));

	(void)state;
	assert_non_null(v);
	n = load_vectors(text, v, 32);
	assert_int_equal(n, 13);
	for (size_t i = 0; i < n; i++) {
		struct vf_buf out = VF_BUF_INIT;
		struct vf_err err = { 0 };
		void *j = NULL;
		int r = vf_cjson_parse(v[i].input, v[i].input_len, NULL, &j, &err);

		/* The edge cases vforge refuses, each with its reason. */
		if (i == 2) { /* key "e\u0301": not NFC */
			assert_non_null(strstr(v[i].input, "e\\u0301"));
			assert_int_equal(r, 0);
			assert_int_equal(vf_cjson_encode(j, &out, &err), -EINVAL);
			vf_test_assert_contains(err.msg, "[\"e\xcc\x81\"]: key is not in unicode "
						"normalization form c (nfc)");
			refused++;
		} else if (i == 3) { /* key U+1F600: outside the BMP */
			assert_non_null(strstr(v[i].input, "\\ud83d\\ude00\": \"astral"));
			assert_int_equal(r, 0);
			assert_int_equal(vf_cjson_encode(j, &out, &err), -EINVAL);
			vf_test_assert_contains(err.msg, "[\"\xf0\x9f\x98\x80\"]: key has a character "
						"outside the basic multilingual plane");
			refused++;
		} else if (i == 5) { /* 12345678901234567890 > 2^53 */
			assert_int_equal(r, -ERANGE);
			vf_test_assert_contains(err.msg, "integer 12345678901234567890 out of range "
						"(magnitude must be below 2^53)");
			vf_test_assert_contains(err.msg, "line 3, column 11");
			refused++;
		} else {
			if (r)
				fail_msg("vector %zu: %s", i, err.msg);
			if (vf_cjson_encode(j, &out, &err))
				fail_msg("vector %zu: %s", i, err.msg);
			assert_int_equal(out.len, v[i].want_len);
			assert_memory_equal(out.data, v[i].want, out.len);
			equal++;
		}
		json_decref(j);
		vf_buf_release(&out);
	}
	assert_int_equal(equal, 10);
	assert_int_equal(refused, 3);
	free(v);
	free(text);
}

/* ---- canonical form ------------------------------------------------------------------ */

static void test_canonical_form(void **state)
{
	(void)state;
	assert_canon(" { \"b\" : [ 1 , -2 , true ] , \"a\" : null }\n", "{\"a\":null,\"b\":[1,-2,true]}");
	assert_canon("-0", "0");
	assert_canon("\"\\u00e9\\/\\\"\\\\\"", "\"\xc3\xa9/\\\"\\\\\"");
	assert_canon("\"\\b\\f\\n\\r\\t\\u0000\\u001f\\u007f\"", "\"\b\f\n\r\t\0\x1f\x7f\"");
	/* bytewise = code point order: "Z" < "_" < "a" < "\u00e9" < "\uffff" */
	assert_canon("{\"\\uffff\":1,\"\\u00e9\":2,\"a\":3,\"_\":4,\"Z\":5,\"\":6}",
		     "{\"\":6,\"Z\":5,\"_\":4,\"a\":3,\"\xc3\xa9\":2,\"\xef\xbf\xbf\":1}");
	/* a prefix sorts before its extensions */
	assert_canon("{\"ab\":1,\"a\":2,\"a0\":3}", "{\"a\":2,\"a0\":3,\"ab\":1}");
	assert_canon("9007199254740991", "9007199254740991");
	assert_canon("-9007199254740991", "-9007199254740991");
	assert_canon("[[],{},\"\"]", "[[],{},\"\"]");
	/* astral characters are fine in values, and surrogate pairs decode */
	assert_canon("[\"\\ud83d\\ude00\", \"\xf0\x9f\x98\x80\"]",
		     "[\"\xf0\x9f\x98\x80\",\"\xf0\x9f\x98\x80\"]");
}

static void test_parser_refusals(void **state)
{
	char deep[200];
	struct vf_cjson_limits lim = { .max_bytes = 8, .max_depth = 3 };
	struct vf_err err = { 0 };
	void *j = NULL;

	(void)state;
	assert_parse_fails("", 0, -EINVAL, "line 1, column 1: unexpected end of input");
	assert_parse_fails("1.0", 3, -EINVAL, "floating-point number not allowed");
	assert_parse_fails("[1e5]", 5, -EINVAL, "line 1, column 2: floating-point");
	assert_parse_fails("-0.0", 4, -EINVAL, "floating-point");
	assert_parse_fails("9007199254740992", 16, -ERANGE, "integer 9007199254740992 out of range");
	assert_parse_fails("-9007199254740992", 17, -ERANGE, "out of range");
	assert_parse_fails("99999999999999999999999999", 26, -ERANGE, "out of range");
	assert_parse_fails("012", 3, -EINVAL, "leading zero");
	assert_parse_fails("-", 1, -EINVAL, "invalid number");
	assert_parse_fails("+1", 2, -EINVAL, "unexpected '+'");
	assert_parse_fails("{\"a\":1,\n \"a\":2}", 15, -EINVAL,
			   "line 2, column 2: duplicate object key \"a\"");
	assert_parse_fails("\"\\ud800\"", 8, -EILSEQ, "lone high surrogate \\ud800");
	assert_parse_fails("\"\\ud800\\u0041\"", 14, -EILSEQ, "lone high surrogate");
	assert_parse_fails("\"\\udc00\"", 8, -EILSEQ, "lone low surrogate \\udc00");
	assert_parse_fails("\"\\u12g4\"", 8, -EINVAL, "invalid \\u escape");
	assert_parse_fails("\"\\x\"", 4, -EINVAL, "invalid escape \\x");
	assert_parse_fails("\"a\tb\"", 5, -EINVAL, "control character 0x09 in string");
	assert_parse_fails("\"\xc0\x80\"", 4, -EILSEQ, "column 2: invalid utf-8 in string");
	assert_parse_fails("\"\xed\xa0\x80\"", 5, -EILSEQ, "invalid utf-8");
	assert_parse_fails("\"\xf5\x80\x80\x80\"", 6, -EILSEQ, "invalid utf-8");
	assert_parse_fails("\"\xe2\x82\"", 4, -EILSEQ, "invalid utf-8");
	assert_parse_fails("\"abc", 4, -EINVAL, "unterminated string");
	assert_parse_fails("{\"a\\u0000\":1}", 13, -EINVAL, "object key contains \\u0000");
	assert_parse_fails("{\"a\" 1}", 7, -EINVAL, "expected ':' after object key");
	assert_parse_fails("{1:1}", 5, -EINVAL, "expected a string key");
	assert_parse_fails("[1 2]", 5, -EINVAL, "expected ',' or ']' in array, got '2'");
	assert_parse_fails("[1,]", 4, -EINVAL, "unexpected ']'");
	assert_parse_fails("{\"a\":1,}", 8, -EINVAL, "expected a string key");
	assert_parse_fails("tru", 3, -EINVAL, "unexpected 't'");
	assert_parse_fails("nul", 3, -EINVAL, "unexpected 'n'");
	assert_parse_fails("1 2", 3, -EINVAL, "line 1, column 3: unexpected '2' after the json value");
	assert_parse_fails("\xef\xbb\xbf{}", 5, -EINVAL, "unexpected byte 0xef");
	assert_parse_fails("{} \x00", 4, -EINVAL, "unexpected byte 0x00 after the json value");

	/* limits */
	assert_int_equal(vf_cjson_parse("[1,2,3,4]", 9, &lim, &j, &err), -EFBIG);
	vf_test_assert_contains(err.msg, "json of 9 bytes exceeds the limit of 8 bytes");
	assert_int_equal(vf_cjson_parse("[[[1]]]", 7, &lim, &j, &err), 0);
	json_decref(j);
	assert_int_equal(vf_cjson_parse("[[[[1]]]]", 9, &(struct vf_cjson_limits){ 0, 3 }, &j, &err),
			 -EINVAL);
	vf_test_assert_contains(err.msg, "column 4: nesting deeper than 3 levels");
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	assert_int_equal(vf_cjson_parse(deep, 130, NULL, &j, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "nesting deeper than 64 levels");
	assert_int_equal(vf_cjson_parse(deep + 1, 128, NULL, &j, &err), 0);
	json_decref(j);

	/* NUL is fine inside string values (canonical form emits it raw) */
	assert_int_equal(vf_cjson_parse("\"a\\u0000b\"", 10, NULL, &j, &err), 0);
	assert_int_equal(json_string_length(j), 3);
	json_decref(j);
	/* err may be NULL */
	assert_int_equal(vf_cjson_parse("[", 1, NULL, &j, NULL), -EINVAL);
}

static void test_encoder_refusals(void **state)
{
	json_t *j;

	(void)state;
	/* the message names the JSON path of the offending value */
	j = json_pack("{s:{s:{s:{s:I}}}}", "signed", "targets", "a b", "length",
		      (json_int_t)1 << 53);
	assert_encode_fails(j, -ERANGE, "signed.targets[\"a b\"].length: integer 9007199254740992 "
				       "out of range (magnitude must be below 2^53)");
	j = json_pack("{s:[i,i,f]}", "x", 1, 2, 0.5);
	assert_encode_fails(j, -EINVAL, "x[2]: floating-point number not allowed");
	j = json_pack("{s:[{s:s}]}", "custom", "n", "cafe\xcc\x81");
	assert_encode_fails(j, -EINVAL, "custom[0].n: string is not in unicode normalization form c");
	j = json_object();
	json_object_set_new(j, "\xf0\x9f\x98\x80", json_true());
	assert_encode_fails(j, -EINVAL, "key has a character outside the basic multilingual plane");
	j = json_stringn_nocheck("\xff", 1);
	assert_encode_fails(j, -EILSEQ, "(top level): string is not valid utf-8 (byte 0)");
	j = json_integer(-((json_int_t)1 << 53));
	assert_encode_fails(j, -ERANGE, "integer -9007199254740992 out of range");
	j = json_real(1.0);
	assert_encode_fails(j, -EINVAL, "(top level): floating-point");
	assert_encode_fails(NULL, -EINVAL, "no json value to encode");
	j = json_array();
	for (int i = 0; i < 600; i++)
		j = json_pack("[o]", j);
	assert_encode_fails(j, -EINVAL, "nesting deeper than 512 levels");
}

/* Keys containing NUL (built through jansson's length API) sort and print by length. */
static void test_encode_lengths(void **state)
{
	struct vf_buf out = VF_BUF_INIT;
	struct vf_err err = { 0 };
	json_t *j = json_object();

	(void)state;
	json_object_setn_new(j, "a\0b", 3, json_integer(1));
	json_object_setn_new(j, "a", 1, json_integer(2));
	json_object_set_new(j, "s", json_stringn("x\0y", 3));
	assert_int_equal(vf_cjson_encode(j, &out, &err), 0);
	assert_int_equal(out.len, 25);
	assert_memory_equal(out.data, "{\"a\":2,\"a\0b\":1,\"s\":\"x\0y\"}", 25);
	json_decref(j);
	vf_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_securesystemslib_vectors),
		cmocka_unit_test(test_canonical_form),
		cmocka_unit_test(test_parser_refusals),
		cmocka_unit_test(test_encoder_refusals),
		cmocka_unit_test(test_encode_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
