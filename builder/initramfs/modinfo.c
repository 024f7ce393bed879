/* builder/initramfs: a bounded ELF64 reader for a kernel module's .modinfo section. */
#include "builder/initramfs/initramfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EHDR_SIZE 64u
#define SHDR_SIZE 64u
#define ET_REL 1u
#define SHT_NOBITS 8u
#define SHN_XINDEX 0xffffu

/* The file and its byte order; every read is bounds-checked by the caller. */
struct elf {
	const uint8_t *p;
	size_t len;
	bool be;
};

static uint64_t get(const struct elf *e, size_t off, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned shift = e->be ? 8 * (n - 1 - i) : 8 * i;

		v |= (uint64_t)e->p[off + i] << shift;
	}
	return v;
}

/* [off, off + size) lies inside the file. */
static bool inside(const struct elf *e, uint64_t off, uint64_t size)
{
	return off <= e->len && size <= e->len - off;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

struct section {
	uint32_t name;
	uint32_t type;
	uint64_t offset, size;
};

static void read_shdr(const struct elf *e, uint64_t shoff, size_t i, struct section *s)
{
	size_t at = (size_t)shoff + i * SHDR_SIZE;

	s->name = (uint32_t)get(e, at, 4);
	s->type = (uint32_t)get(e, at + 4, 4);
	s->offset = get(e, at + 24, 8);
	s->size = get(e, at + 32, 8);
}

void vf_modinfo_release(struct vf_modinfo *mi)
{
	if (!mi)
		return;
	free(mi->name);
	for (size_t i = 0; i < mi->n_depends; i++)
		free(mi->depends[i]);
	free(mi->depends);
	memset(mi, 0, sizeof(*mi));
}

/* A name field's value, checked and copied. */
static int take_name(const char *v, size_t n, const char *field, char **ret, struct vf_err *err)
{
	char *c;

	if (n == 0 || n > VF_KMOD_NAME_MAX)
		return vf_err_set(err, EINVAL, ".modinfo: %s: expected 1 to %d bytes, got %zu", field,
				  VF_KMOD_NAME_MAX, n);
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-'))
			return vf_err_set(err, EINVAL, ".modinfo: %s: byte 0x%02x at %zu is not one "
					  "of [A-Za-z0-9_-]", field, (unsigned)(unsigned char)ch, i);
	}
	c = malloc(n + 1);
	if (!c)
		return vf_err_set(err, ENOMEM, "out of memory");
	memcpy(c, v, n);
	c[n] = '\0';
	*ret = c;
	return 0;
}

static int parse_depends(const char *v, size_t n, struct vf_modinfo *mi, struct vf_err *err)
{
	size_t count = 0, i = 0;

	for (size_t k = 0; k < n; k++)
		count += v[k] == ',';
	if (count + 1 > VF_MODINFO_MAX_DEPENDS)
		return vf_err_set(err, EINVAL, ".modinfo: depends: %zu entries, more than the %d "
				  "allowed", count + 1, VF_MODINFO_MAX_DEPENDS);
	mi->depends = calloc(count + 1, sizeof(*mi->depends));
	if (!mi->depends)
		return vf_err_set(err, ENOMEM, "out of memory");
	while (i <= n) {
		size_t end = i;
		int r;

		while (end < n && v[end] != ',')
			end++;
		if (end > i) {
			if ((r = take_name(v + i, end - i, "depends", &mi->depends[mi->n_depends], err)))
				return r;
			mi->n_depends++;
		}
		i = end + 1;
	}
	return 0;
}

/* The NUL-separated key=value strings of the section. */
static int parse_fields(const char *p, size_t n, struct vf_modinfo *mi, struct vf_err *err)
{
	bool have_depends = false;
	size_t i = 0;
	int r;

	if (n && p[n - 1] != '\0')
		return vf_err_set(err, EINVAL, ".modinfo: the last string is not NUL-terminated");
	while (i < n) {
		const char *s = p + i;
		size_t len = strlen(s); /* terminated: p[n - 1] is NUL */

		if (len > 5 && memcmp(s, "name=", 5) == 0) {
			if (mi->name)
				return vf_err_set(err, EINVAL, ".modinfo: 'name=' appears twice");
			if ((r = take_name(s + 5, len - 5, "name", &mi->name, err)))
				return r;
		} else if (len == 5 && memcmp(s, "name=", 5) == 0) {
			return vf_err_set(err, EINVAL, ".modinfo: 'name=' is empty");
		} else if (len >= 8 && memcmp(s, "depends=", 8) == 0) {
			if (have_depends)
				return vf_err_set(err, EINVAL, ".modinfo: 'depends=' appears twice");
			have_depends = true;
			if ((r = parse_depends(s + 8, len - 8, mi, err)))
				return r;
		}
		i += len + 1;
	}
	return 0;
}

int vf_modinfo_parse(const void *data, size_t len, struct vf_modinfo *ret, struct vf_err *err)
{
	struct elf e = { data, len, false };
	struct vf_modinfo mi = { 0 };
	struct section strtab, s, found = { 0 };
	uint64_t shoff, table;
	size_t shnum, shstrndx, n_found = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len < EHDR_SIZE || memcmp(data, "\x7f" "ELF", 4) != 0)
		return vf_err_set(err, EINVAL, "not an ELF file");
	if (e.p[4] != 2)
		return vf_err_set(err, EINVAL, "not a 64-bit ELF file (class %u)", (unsigned)e.p[4]);
	if (e.p[5] != 1 && e.p[5] != 2)
		return vf_err_set(err, EINVAL, "unknown ELF byte order %u", (unsigned)e.p[5]);
	e.be = e.p[5] == 2;
	if (get(&e, 16, 2) != ET_REL)
		return vf_err_set(err, EINVAL, "not a relocatable ELF object (e_type %u, expected 1)",
				  (unsigned)get(&e, 16, 2));
	shoff = get(&e, 0x28, 8);
	if (get(&e, 0x3a, 2) != SHDR_SIZE)
		return vf_err_set(err, EINVAL, "section header size %u, expected %u",
				  (unsigned)get(&e, 0x3a, 2), SHDR_SIZE);
	shnum = (size_t)get(&e, 0x3c, 2);
	shstrndx = (size_t)get(&e, 0x3e, 2);
	if (shnum == 0)
		return vf_err_set(err, EINVAL, "no section headers");
	table = (uint64_t)shnum * SHDR_SIZE;
	if (!inside(&e, shoff, table))
		return vf_err_set(err, EINVAL, "the section header table (%zu entries at %llu) lies "
				  "outside the file of %zu bytes", shnum, (unsigned long long)shoff, len);
	if (overlaps(shoff, table, 0, EHDR_SIZE))
		return vf_err_set(err, EINVAL, "the section header table overlaps the ELF header");
	if (shstrndx == SHN_XINDEX || shstrndx >= shnum)
		return vf_err_set(err, EINVAL, "section name table index %zu out of range (%zu "
				  "sections)", shstrndx, shnum);
	read_shdr(&e, shoff, shstrndx, &strtab);
	if (strtab.type == SHT_NOBITS || !inside(&e, strtab.offset, strtab.size))
		return vf_err_set(err, EINVAL, "the section name table lies outside the file");
	for (size_t i = 0; i < shnum; i++) {
		const char *name;

		read_shdr(&e, shoff, i, &s);
		if (s.name >= strtab.size)
			return vf_err_set(err, EINVAL, "section %zu: name offset %u outside the section "
					  "name table of %llu bytes", i, s.name,
					  (unsigned long long)strtab.size);
		name = (const char *)e.p + strtab.offset + s.name;
		if (!memchr(name, '\0', (size_t)(strtab.size - s.name)))
			return vf_err_set(err, EINVAL, "section %zu: name is not NUL-terminated", i);
		if (strcmp(name, ".modinfo") != 0)
			continue;
		if (++n_found > 1)
			return vf_err_set(err, EINVAL, "two .modinfo sections (%zu and %zu)",
					  (size_t)found.name, i);
		found = s;
		found.name = (uint32_t)i; /* its index, for the message above */
	}
	if (!n_found)
		return vf_err_set(err, EINVAL, "no .modinfo section");
	if (found.type == SHT_NOBITS)
		return vf_err_set(err, EINVAL, ".modinfo has no data in the file (SHT_NOBITS)");
	if (!inside(&e, found.offset, found.size))
		return vf_err_set(err, EINVAL, ".modinfo (%llu bytes at %llu) lies outside the file of "
				  "%zu bytes", (unsigned long long)found.size,
				  (unsigned long long)found.offset, len);
	if (overlaps(found.offset, found.size, 0, EHDR_SIZE) ||
	    overlaps(found.offset, found.size, shoff, table) ||
	    overlaps(found.offset, found.size, strtab.offset, strtab.size))
		return vf_err_set(err, EINVAL, ".modinfo overlaps the ELF header, the section header "
				  "table or the section name table");
	if ((r = parse_fields((const char *)e.p + found.offset, (size_t)found.size, &mi, err))) {
		vf_modinfo_release(&mi);
		return r;
	}
	*ret = mi;
	return 0;
}
