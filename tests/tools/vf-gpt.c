/*
 * vf-gpt: drive builder/gpt from shell tests.
 *   vf-gpt check [-a ARCH] [-t SET] SIZE DISK-GUID PART...
 *   vf-gpt write [-a ARCH] [-t SET] IMG SIZE DISK-GUID PART...
 *   vf-gpt read IMG
 *   vf-gpt set-attrs IMG PARTNO ATTRS
 *   vf-gpt type NAME ARCH|- SET|-
 *   vf-gpt type-name GUID
 * PART is START:SIZE:TYPE:UUID:ATTRS:NAME (sectors; TYPE a name or GUID; NAME
 * last, so it may hold ':'). ATTRS is a number (0x... for hex), "-" for none,
 * or "b" and a list of bit numbers ("b0,48,56"). PARTNO counts from 1, as
 * sfdisk does. Exit 0 ok, 1 error (message on stderr), 2 usage.
 */
#include "builder/base/uuid.h"
#include "builder/gpt/gpt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: vf-gpt check [-a ARCH] [-t SET] SIZE DISK-GUID PART...\n"
			"       vf-gpt write [-a ARCH] [-t SET] IMG SIZE DISK-GUID PART...\n"
			"       vf-gpt read IMG\n"
			"       vf-gpt set-attrs IMG PARTNO ATTRS\n"
			"       vf-gpt type NAME ARCH|- SET|-\n"
			"       vf-gpt type-name GUID\n"
			"PART: START:SIZE:TYPE:UUID:ATTRS:NAME\n");
	return 2;
}

static int fail(const struct vf_err *err)
{
	fprintf(stderr, "vf-gpt: error: %s\n", err->msg);
	return 1;
}

static int number(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 0);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

/* ATTRS: a number, "-", or "bN,N,..." */
static int attrs_of(const char *s, uint64_t *ret)
{
	uint64_t bit;
	char buf[256], *save = NULL;

	if (!strcmp(s, "-")) {
		*ret = 0;
		return 0;
	}
	if (s[0] != 'b')
		return number(s, ret);
	if (strlen(s + 1) >= sizeof(buf))
		return -1;
	strcpy(buf, s + 1);
	*ret = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (number(tok, &bit) || bit > 63)
			return -1;
		*ret |= 1ULL << bit;
	}
	return 0;
}

/* Split off the next ':'-separated field of *p. */
static char *field(char **p)
{
	char *f = *p, *colon;

	if (!f)
		return NULL;
	colon = strchr(f, ':');
	if (colon) {
		*colon = '\0';
		*p = colon + 1;
	} else {
		*p = NULL;
	}
	return f;
}

static int parse_part(char *spec, const char *arch, const char *set, struct vf_gpt_part *p,
		      struct vf_err *err)
{
	char *rest = spec, *start = field(&rest), *size = field(&rest), *type = field(&rest);
	char *uuid = field(&rest), *attrs = field(&rest), *name = rest;
	int r;

	if (!name)
		return vf_err_set(err, EINVAL, "bad partition '%s': expected "
				  "START:SIZE:TYPE:UUID:ATTRS:NAME", spec);
	if (number(start, &p->first_lba) || number(size, &p->size_lba) ||
	    attrs_of(attrs, &p->attrs))
		return vf_err_set(err, EINVAL, "bad number in partition '%s'", name);
	if (vf_uuid_parse(uuid, p->uuid))
		return vf_err_set(err, EINVAL, "bad UUID '%s'", uuid);
	if ((r = vf_gpt_type_lookup(type, arch, set, p->type, err)))
		return r;
	/* longer names are cut off so vf_gpt_check() can see the 37th byte */
	memset(p->name, 0, sizeof(p->name));
	memcpy(p->name, name, strlen(name) < sizeof(p->name) ? strlen(name) : sizeof(p->name));
	return 0;
}

/* SIZE DISK-GUID PART... into a table (parts malloc'd). */
static int parse_table(int argc, char **argv, const char *arch, const char *set,
		       struct vf_gpt_table *t, struct vf_err *err)
{
	int r;

	if (number(argv[0], &t->disk_size))
		return vf_err_set(err, EINVAL, "bad disk size '%s'", argv[0]);
	if (vf_uuid_parse(argv[1], t->disk_guid))
		return vf_err_set(err, EINVAL, "bad disk GUID '%s'", argv[1]);
	t->n_parts = (size_t)(argc - 2);
	t->parts = calloc(t->n_parts ? t->n_parts : 1, sizeof(*t->parts));
	if (!t->parts)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < t->n_parts; i++)
		if ((r = parse_part(argv[2 + i], arch, set, &t->parts[i], err)))
			return r;
	return 0;
}

static int cmd_table(bool write, int argc, char **argv)
{
	struct vf_gpt_table t = { 0 };
	struct vf_err err = { 0 };
	const char *arch = "x86_64", *set = "dps", *img = NULL;
	int i = 0, r;

	while (i + 1 < argc && (!strcmp(argv[i], "-a") || !strcmp(argv[i], "-t"))) {
		if (!strcmp(argv[i], "-a"))
			arch = strcmp(argv[i + 1], "-") ? argv[i + 1] : NULL;
		else
			set = strcmp(argv[i + 1], "-") ? argv[i + 1] : NULL;
		i += 2;
	}
	if (write) {
		if (i >= argc)
			return usage();
		img = argv[i++];
	}
	if (argc - i < 2)
		return usage();
	r = parse_table(argc - i, argv + i, arch, set, &t, &err);
	if (!r)
		r = write ? vf_gpt_write(img, &t, &err) : vf_gpt_check(&t, &err);
	free(t.parts);
	return r ? fail(&err) : 0;
}

static int cmd_read(const char *img)
{
	struct vf_gpt_table t;
	struct vf_err err = { 0 };
	char text[VF_UUID_TEXT_LEN + 1];

	if (vf_gpt_read(img, &t, &err))
		return fail(&err);
	vf_uuid_format(t.disk_guid, text);
	printf("disk-size: %" PRIu64 "\ndisk-guid: %s\npartitions: %zu\n", t.disk_size, text,
	       t.n_parts);
	for (size_t i = 0; i < t.n_parts; i++) {
		const struct vf_gpt_part *p = &t.parts[i];
		const char *tn = vf_gpt_type_name(p->type);

		vf_uuid_format(p->type, text);
		printf("%zu: start=%" PRIu64 " size=%" PRIu64 " type=%s (%s)", i + 1, p->first_lba,
		       p->size_lba, text, tn ? tn : "?");
		vf_uuid_format(p->uuid, text);
		printf(" uuid=%s attrs=0x%016" PRIx64 " name=\"%s\"\n", text, p->attrs, p->name);
	}
	vf_gpt_table_release(&t);
	return fflush(stdout) ? 1 : 0;
}

static int cmd_set_attrs(const char *img, const char *partno, const char *attrs)
{
	struct vf_err err = { 0 };
	uint64_t n, a;

	if (number(partno, &n) || n == 0 || attrs_of(attrs, &a))
		return usage();
	if (vf_gpt_set_attrs(img, (size_t)(n - 1), a, &err))
		return fail(&err);
	return 0;
}

static int cmd_type(const char *name, const char *arch, const char *set)
{
	struct vf_err err = { 0 };
	uint8_t guid[16];
	char text[VF_UUID_TEXT_LEN + 1];
	const char *tn;

	if (vf_gpt_type_lookup(name, strcmp(arch, "-") ? arch : NULL,
			       strcmp(set, "-") ? set : NULL, guid, &err))
		return fail(&err);
	vf_uuid_format(guid, text);
	tn = vf_gpt_type_name(guid);
	printf("%s %s\n", text, tn ? tn : "-");
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint8_t guid[16];
	const char *tn;

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "check"))
		return cmd_table(false, argc - 2, argv + 2);
	if (!strcmp(argv[1], "write"))
		return cmd_table(true, argc - 2, argv + 2);
	if (!strcmp(argv[1], "read") && argc == 3)
		return cmd_read(argv[2]);
	if (!strcmp(argv[1], "set-attrs") && argc == 5)
		return cmd_set_attrs(argv[2], argv[3], argv[4]);
	if (!strcmp(argv[1], "type") && argc == 5)
		return cmd_type(argv[2], argv[3], argv[4]);
	if (!strcmp(argv[1], "type-name") && argc == 3) {
		if (vf_uuid_parse(argv[2], guid))
			return usage();
		tn = vf_gpt_type_name(guid);
		printf("%s\n", tn ? tn : "-");
		return fflush(stdout) ? 1 : 0;
	}
	return usage();
}
