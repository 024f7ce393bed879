/*
 * vinit's pure parsing functions (see vinit_parse.h). This file is not compiled on its own:
 * ci/make-packages compiles one source file per program, so vinit.c #includes it, and so does
 * the host unit test tests/unit/vinit/test_vinit_parse.c.
 */
#include "vinit_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 4)))
static int refuse(struct vinit_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -code;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Kernel parameter names treat '-' and '_' alike (parameq()). */
static bool param_is(const char *tok, size_t n, const char *key)
{
	size_t k = strlen(key);

	if (n <= k || tok[k] != '=')
		return false;
	for (size_t i = 0; i < k; i++) {
		char a = tok[i] == '_' ? '-' : tok[i], b = key[i] == '_' ? '-' : key[i];

		if (a != b)
			return false;
	}
	return true;
}

int vinit_cmdline_value(const char *cmdline, size_t len, const char *key, char *out, size_t outsz,
			struct vinit_err *err)
{
	const char *val = NULL;
	size_t vlen = 0, i = 0;

	if (len > VINIT_CMDLINE_MAX)
		return refuse(err, ENAMETOOLONG, "the kernel command line has %zu bytes, more than %d",
			    len, VINIT_CMDLINE_MAX);
	while (i < len) {
		size_t start, n;
		bool quoted = false;

		while (i < len && is_blank(cmdline[i]))
			i++;
		if (i >= len)
			break;
		if (cmdline[i] == '\0')
			return refuse(err, EINVAL, "the kernel command line holds a NUL byte at %zu", i);
		start = i;
		while (i < len && cmdline[i] != '\0' && (quoted || !is_blank(cmdline[i]))) {
			if (cmdline[i] == '"')
				quoted = !quoted;
			i++;
		}
		if (quoted)
			return refuse(err, EINVAL, "a double quote opened at offset %zu of the kernel "
				    "command line is not closed", start);
		n = i - start;
		if (n == 2 && memcmp(cmdline + start, "--", 2) == 0)
			break;
		if (!param_is(cmdline + start, n, key))
			continue;
		if (val)
			return refuse(err, EINVAL, "%s= is given more than once on the kernel command "
				    "line", key);
		val = cmdline + start + strlen(key) + 1;
		vlen = n - strlen(key) - 1;
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val++;
			vlen -= 2;
		}
		if (memchr(val, '"', vlen))
			return refuse(err, EINVAL, "%s= has a double quote inside its value", key);
	}
	if (!val)
		return refuse(err, ENOENT, "the kernel command line has no %s=", key);
	if (vlen >= outsz)
		return refuse(err, ENAMETOOLONG, "%s= has a value of %zu bytes, more than %zu", key,
			    vlen, outsz ? outsz - 1 : 0);
	memcpy(out, val, vlen);
	out[vlen] = '\0';
	return 0;
}

/* A decimal number of 1..20 digits that fits in 64 bits: true and *ret, or false. */
static bool parse_u64(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return true;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return n > 0;
}

/* Copy a field of n bytes into a buffer of size sz, or false when it does not fit. */
static bool copy_field(char *dst, size_t sz, const char *src, size_t n)
{
	if (n >= sz)
		return false;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return true;
}

/* The next blank-separated word of *p: its start and length, or false at the end. */
static bool next_word(const char **p, const char **ret, size_t *ret_len)
{
	const char *s = *p, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return false;
	e = s;
	while (*e && *e != ' ' && *e != '\t')
		e++;
	*ret = s;
	*ret_len = (size_t)(e - s);
	*p = e;
	return true;
}

int vinit_dm_create_parse(const char *value, struct vinit_dm_create *ret, struct vinit_err *err)
{
	static struct vinit_dm_create c; /* 17 KiB: too big for a small stack, and vinit is one thread */
	const char *f[5], *p, *w;
	size_t fl[4], n;
	uint64_t v;

	memset(&c, 0, sizeof(c));
	if (strchr(value, ';'))
		return refuse(err, EINVAL, "dm-mod.create= names several devices; vinit maps one");
	f[0] = value;
	for (int i = 1; i < 5; i++) {
		const char *comma = strchr(f[i - 1], ',');

		if (!comma)
			return refuse(err, EINVAL, "dm-mod.create= has %d fields, expected "
				    "<name>,<uuid>,<minor>,<flags>,<table>", i);
		fl[i - 1] = (size_t)(comma - f[i - 1]);
		f[i] = comma + 1;
	}
	if (strchr(f[4], ','))
		return refuse(err, EINVAL, "dm-mod.create= has several table lines; vinit loads one");
	if (fl[0] == 0 || !copy_field(c.name, sizeof(c.name), f[0], fl[0]))
		return refuse(err, EINVAL, "dm-mod.create= device name has %zu bytes, expected 1..%d",
			    fl[0], VINIT_DM_NAME_LEN - 1);
	if (memchr(f[0], '/', fl[0]))
		return refuse(err, EINVAL, "dm-mod.create= device name '%.*s' contains '/'",
			    (int)fl[0], f[0]);
	if (!copy_field(c.uuid, sizeof(c.uuid), f[1], fl[1]))
		return refuse(err, EINVAL, "dm-mod.create= uuid has %zu bytes, more than %d", fl[1],
			    VINIT_DM_UUID_LEN - 1);
	if (fl[2]) {
		if (!parse_u64(f[2], fl[2], &v) || v > VINIT_MINOR_MAX)
			return refuse(err, EINVAL, "dm-mod.create= minor '%.*s' is not a number up to "
				    "%u", (int)(fl[2] > 20 ? 20 : fl[2]), f[2], VINIT_MINOR_MAX);
		c.has_minor = true;
		c.minor = (uint32_t)v;
	}
	if (fl[3] == 2 && memcmp(f[3], "ro", 2) == 0)
		c.read_only = true;
	else if (!(fl[3] == 2 && memcmp(f[3], "rw", 2) == 0))
		return refuse(err, EINVAL, "dm-mod.create= flags '%.*s', expected ro or rw",
			    (int)(fl[3] > 20 ? 20 : fl[3]), f[3]);
	p = f[4];
	if (!next_word(&p, &w, &n) || !parse_u64(w, n, &c.start))
		return refuse(err, EINVAL, "the table's start sector is missing or not a number");
	if (!next_word(&p, &w, &n) || !parse_u64(w, n, &c.length) || c.length == 0)
		return refuse(err, EINVAL, "the table's length is missing, zero or not a number");
	if (!next_word(&p, &w, &n))
		return refuse(err, EINVAL, "the table has no target type");
	if (!copy_field(c.target, sizeof(c.target), w, n))
		return refuse(err, EINVAL, "the table's target type has %zu bytes, more than %d", n,
			    VINIT_DM_TYPE_LEN - 1);
	while (next_word(&p, &w, &n)) {
		if (c.n_words == VINIT_MAX_WORDS)
			return refuse(err, E2BIG, "the table has more than %d target parameters",
				    VINIT_MAX_WORDS);
		if (!copy_field(c.words[c.n_words], sizeof(c.words[0]), w, n))
			return refuse(err, E2BIG, "target parameter %zu has %zu bytes, more than %d",
				    c.n_words + 1, n, VINIT_WORD_MAX - 1);
		c.n_words++;
	}
	*ret = c;
	return 0;
}

int vinit_verity_check(const struct vinit_dm_create *c, struct vinit_verity *ret,
		       struct vinit_err *err)
{
	static const char *const numbers[] = { "data block size", "hash block size",
					       "data block count", "hash start block" };
	uint64_t v;
	size_t n;

	if (strcmp(c->target, "verity") != 0)
		return refuse(err, EINVAL, "the table's target is '%s', expected verity (vinit maps "
			    "nothing unverified)", c->target);
	if (c->n_words < 10)
		return refuse(err, EINVAL, "the verity table has %zu parameters, expected at least 10",
			    c->n_words);
	if (strcmp(c->words[0], "0") != 0 && strcmp(c->words[0], "1") != 0)
		return refuse(err, EINVAL, "the verity table's version is '%.20s', expected 0 or 1",
			    c->words[0]);
	for (int i = 0; i < 4; i++)
		if (!parse_u64(c->words[3 + i], strlen(c->words[3 + i]), &v))
			return refuse(err, EINVAL, "the verity table's %s '%.20s' is not a number",
				    numbers[i], c->words[3 + i]);
	n = strlen(c->words[8]);
	if (!is_hex(c->words[8], n) || n % 2 || n > 128)
		return refuse(err, EINVAL, "the verity table's root hash '%.140s' is not 1..64 bytes "
			    "of hex", c->words[8]);
	if (strcmp(c->words[9], "-") != 0 &&
	    (!is_hex(c->words[9], strlen(c->words[9])) || strlen(c->words[9]) % 2))
		return refuse(err, EINVAL, "the verity table's salt '%.140s' is not hex or '-'",
			    c->words[9]);
	if (c->n_words > 10 &&
	    (!parse_u64(c->words[10], strlen(c->words[10]), &v) || v != c->n_words - 11))
		return refuse(err, EINVAL, "the verity table announces '%.20s' optional parameters "
			    "and has %zu", c->words[10], c->n_words - 11);
	ret->data_dev = c->words[1];
	ret->hash_dev = c->words[2];
	ret->root_hash = c->words[8];
	return 0;
}

int vinit_dm_params_format(const struct vinit_dm_create *c, char *out, size_t outsz,
			   struct vinit_err *err)
{
	size_t used = 0;

	for (size_t i = 0; i < c->n_words; i++) {
		size_t n = strlen(c->words[i]) + (i > 0);

		if (used + n >= outsz)
			return refuse(err, ENAMETOOLONG, "the target parameters do not fit in %zu bytes",
				    outsz);
		if (i > 0)
			out[used++] = ' ';
		memcpy(out + used, c->words[i], n - (i > 0));
		used += n - (i > 0);
	}
	if (outsz == 0)
		return refuse(err, ENAMETOOLONG, "the target parameters do not fit in 0 bytes");
	out[used] = '\0';
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vinit_uuid_parse(const char *text, uint8_t out[16])
{
	uint8_t u[16];
	size_t j = 0;

	if (strlen(text) != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i++] != '-')
				return -EINVAL;
			continue;
		}
		hi = hexval(text[i]);
		lo = hexval(text[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		u[j++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(out, u, 16);
	return 0;
}

int vinit_dev_parse(const char *word, struct vinit_dev *ret, struct vinit_err *err)
{
	struct vinit_dev d;
	const char *colon;
	uint64_t ma, mi;

	memset(&d, 0, sizeof(d));
	if (strncmp(word, "PARTUUID=", 9) == 0) {
		if (vinit_uuid_parse(word + 9, d.uuid))
			return refuse(err, EINVAL, "device '%.80s' is not PARTUUID=<uuid> with a "
				    "36-character uuid", word);
		d.kind = VINIT_DEV_PARTUUID;
	} else if ((colon = strchr(word, ':')) && parse_u64(word, (size_t)(colon - word), &ma) &&
		   parse_u64(colon + 1, strlen(colon + 1), &mi) && ma <= 4095 &&
		   mi <= VINIT_MINOR_MAX) {
		d.kind = VINIT_DEV_NUMBER;
		d.major = (uint32_t)ma;
		d.minor = (uint32_t)mi;
	} else {
		return refuse(err, EINVAL, "device '%.80s' is neither PARTUUID=<uuid> nor "
			    "<major>:<minor>", word);
	}
	*ret = d;
	return 0;
}

uint32_t vinit_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

int vinit_gpt_header_parse(const uint8_t *sector, size_t sector_size, struct vinit_gpt_header *ret,
			   struct vinit_err *err)
{
	static const uint8_t zero[4];
	struct vinit_gpt_header h;
	uint32_t hsize, crc, want;
	uint64_t array_sectors;

	if (sector_size < 512 || sector_size > 65536 || (sector_size & (sector_size - 1)))
		return refuse(err, EINVAL, "sector size %zu is not a power of two in 512..65536",
			    sector_size);
	if (memcmp(sector, "EFI PART", 8) != 0)
		return refuse(err, EINVAL, "no GPT signature 'EFI PART' at LBA 1");
	hsize = le32(sector + 12);
	if (hsize < 92 || hsize > sector_size)
		return refuse(err, EINVAL, "GPT header size %u is outside 92..%zu", hsize,
			    sector_size);
	want = le32(sector + 16);
	crc = vinit_crc32(0, sector, 16);
	crc = vinit_crc32(crc, zero, 4);
	crc = vinit_crc32(crc, sector + 20, hsize - 20);
	if (crc != want)
		return refuse(err, EINVAL, "GPT header CRC32 is %08x, the header says %08x", crc, want);
	memset(&h, 0, sizeof(h));
	h.my_lba = le64(sector + 24);
	h.alternate_lba = le64(sector + 32);
	h.first_usable_lba = le64(sector + 40);
	h.last_usable_lba = le64(sector + 48);
	memcpy(h.disk_guid, sector + 56, 16);
	h.entries_lba = le64(sector + 72);
	h.n_entries = le32(sector + 80);
	h.entry_size = le32(sector + 84);
	h.entries_crc = le32(sector + 88);
	if (h.my_lba != 1)
		return refuse(err, EINVAL, "GPT header at LBA 1 says it is at LBA %llu",
			    (unsigned long long)h.my_lba);
	if (h.entry_size < 128 || h.entry_size % 128 || h.entry_size > VINIT_GPT_MAX_ENTRY_SIZE)
		return refuse(err, EINVAL, "GPT entry size %u is not a multiple of 128 up to %u",
			    h.entry_size, VINIT_GPT_MAX_ENTRY_SIZE);
	if (h.n_entries == 0 || h.n_entries > VINIT_GPT_MAX_ENTRIES ||
	    (uint64_t)h.n_entries * h.entry_size > VINIT_GPT_MAX_ARRAY)
		return refuse(err, EINVAL, "GPT has %u entries of %u bytes, expected 1..%u entries "
			    "and at most %u bytes", h.n_entries, h.entry_size,
			    VINIT_GPT_MAX_ENTRIES, VINIT_GPT_MAX_ARRAY);
	array_sectors = ((uint64_t)h.n_entries * h.entry_size + sector_size - 1) / sector_size;
	if (h.entries_lba < 2 || h.entries_lba > UINT64_MAX - array_sectors ||
	    h.entries_lba + array_sectors > h.first_usable_lba)
		return refuse(err, EINVAL, "GPT entries at LBA %llu (%llu sectors) overlap the header "
			    "or the first usable LBA %llu", (unsigned long long)h.entries_lba,
			    (unsigned long long)array_sectors,
			    (unsigned long long)h.first_usable_lba);
	if (h.last_usable_lba < h.first_usable_lba)
		return refuse(err, EINVAL, "GPT last usable LBA %llu is before the first %llu",
			    (unsigned long long)h.last_usable_lba,
			    (unsigned long long)h.first_usable_lba);
	*ret = h;
	return 0;
}

size_t vinit_gpt_entries_size(const struct vinit_gpt_header *h)
{
	return (size_t)h->n_entries * h->entry_size;
}

int vinit_gpt_entries_check(const struct vinit_gpt_header *h, const uint8_t *entries, size_t len,
			    struct vinit_err *err)
{
	size_t need = vinit_gpt_entries_size(h);
	uint32_t crc;

	if (len < need)
		return refuse(err, EINVAL, "GPT entries array has %zu bytes, the header needs %zu", len,
			    need);
	crc = vinit_crc32(0, entries, need);
	if (crc != h->entries_crc)
		return refuse(err, EINVAL, "GPT entries CRC32 is %08x, the header says %08x", crc,
			    h->entries_crc);
	return 0;
}

int vinit_gpt_entry_get(const struct vinit_gpt_header *h, const uint8_t *entries, size_t len,
			uint32_t index, struct vinit_gpt_entry *ret)
{
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	struct vinit_gpt_entry e;
	const uint8_t *p;
	bool used = false;
	size_t k = 0;

	if (index >= h->n_entries || len < vinit_gpt_entries_size(h))
		return -EINVAL;
	p = entries + (size_t)index * h->entry_size;
	memset(&e, 0, sizeof(e));
	memcpy(e.type, p, 16);
	for (int i = 0; i < 16; i++) {
		e.uuid[i] = p[16 + order[i]];
		used |= p[i] != 0;
	}
	e.first_lba = le64(p + 32);
	e.last_lba = le64(p + 40);
	e.attrs = le64(p + 48);
	for (; k < 36; k++) {
		uint16_t u = (uint16_t)(p[56 + 2 * k] | p[57 + 2 * k] << 8);

		if (u == 0)
			break;
		e.name[k] = u >= 0x20 && u < 0x7f ? (char)u : '?';
	}
	e.name[k] = '\0';
	*ret = e;
	return used ? 1 : 0;
}

char vinit_bank_of(const char *partition_name)
{
	if (strcmp(partition_name, "ROOT-A") == 0)
		return 'A';
	if (strcmp(partition_name, "ROOT-B") == 0)
		return 'B';
	return 0;
}
