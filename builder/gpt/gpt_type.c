/*
 * Partition type names and their GUIDs.
 *
 * DPS: the Discoverable Partitions Specification (uapi-group), checked entry
 * by entry against its table of "Defined Partition Type UUIDs".
 * Bottlerocket: the GUIDs of its partyplanner and signpost (see
 * docs/gpt.md for the table and where each comes from).
 */
#include "builder/gpt/gpt.h"

#include "builder/base/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct type {
	const char *name;    /* the lookup name ("root") */
	const char *arch;    /* "x86_64", "aarch64", or NULL for any */
	const char *display; /* vf_gpt_type_name() */
	const char *guid;
};

static const struct type dps_types[] = {
	{ "esp", NULL, "esp", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b" },
	{ "xbootldr", NULL, "xbootldr", "bc13c2ff-59e6-4262-a352-b275fd6f7172" },
	{ "swap", NULL, "swap", "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f" },
	{ "home", NULL, "home", "933ac7e1-2eb4-4f13-b844-0e14e2aef915" },
	{ "srv", NULL, "srv", "3b8f8425-20e0-4f3b-907f-1a25a76f98e8" },
	{ "var", NULL, "var", "4d21b016-b534-45c2-a9fb-5c16e091fd2d" },
	{ "tmp", NULL, "tmp", "7ec6f557-3bc5-4aca-b293-16ef5df639d1" },
	{ "linux", NULL, "linux-generic", "0fc63daf-8483-4772-8e79-3d69d8477de4" },
	{ "root", "x86_64", "root-x86-64", "4f68bce3-e8cd-4db1-96e7-fbcaf984b709" },
	{ "root", "aarch64", "root-arm64", "b921b045-1df0-41c3-af44-4c6f280d3fae" },
	{ "root-verity", "x86_64", "root-verity-x86-64", "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5" },
	{ "root-verity", "aarch64", "root-verity-arm64", "df3300ce-d69f-4c92-978c-9bfb0f38d820" },
	{ "root-verity-sig", "x86_64", "root-verity-sig-x86-64",
	  "41092b05-9fc8-4523-994f-2def0408b176" },
	{ "root-verity-sig", "aarch64", "root-verity-sig-arm64",
	  "6db69de6-29f4-4758-a7a5-962190f00ce3" },
	{ "usr", "x86_64", "usr-x86-64", "8484680c-9521-48c6-9c11-b0720656f69e" },
	{ "usr", "aarch64", "usr-arm64", "b0e01050-ee5f-4390-949a-9101b17104e9" },
	{ "usr-verity", "x86_64", "usr-verity-x86-64", "77ff5f63-e7b6-4633-acf4-1565b864c0e6" },
	{ "usr-verity", "aarch64", "usr-verity-arm64", "6e11a4e7-fbca-4ded-b9e9-e1a512bb664e" },
	{ "usr-verity-sig", "x86_64", "usr-verity-sig-x86-64",
	  "e7bb33fb-06cf-4e81-8273-e543b413e2e2" },
	{ "usr-verity-sig", "aarch64", "usr-verity-sig-arm64",
	  "c23ce4ff-44bd-4b00-b2d4-b41b3419e02a" },
};

static const struct type bottlerocket_types[] = {
	{ "boot", NULL, "bottlerocket-boot", "6b636168-7420-6568-2070-6c616e657421" },
	{ "root", NULL, "bottlerocket-root", "5526016a-1a97-4ea4-b39a-b7c8c6ca4502" },
	{ "hash", NULL, "bottlerocket-hash", "598f10af-c955-4456-6a99-7720068a6cea" },
	{ "reserved", NULL, "bottlerocket-reserved", "0c5d99a5-d331-4147-baef-08e2b855bdc9" },
	{ "private", NULL, "bottlerocket-private", "440408bb-eb0b-4328-a6e5-a29038fad706" },
	{ "data", NULL, "bottlerocket-data", "626f7474-6c65-6474-6861-726d61726b73" },
	{ "efi-backup", NULL, "bottlerocket-efi-backup", "b39ce39c-0a00-b4ab-2d11-f18f8237a21c" },
	{ "bios-boot", NULL, "bios-boot", "21686148-6449-6e6f-744e-656564454649" },
};

#define N_DPS (sizeof(dps_types) / sizeof(dps_types[0]))
#define N_BOTTLEROCKET (sizeof(bottlerocket_types) / sizeof(bottlerocket_types[0]))

/* Whether `name` is one of the ", "-separated names in `list`. */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		const char *end = strstr(p, ", ");
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (end ? 2 : 0);
	}
	return false;
}

/* Append each name of the table not yet in `out` ("a, b, c"). */
static void list_names(const struct type *tab, size_t n, char *out, size_t size)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(out);

		if (listed(out, tab[i].name))
			continue;
		if (len + strlen(tab[i].name) + 3 > size)
			return;
		snprintf(out + len, size - len, "%s%s", len ? ", " : "", tab[i].name);
	}
}

/*
 * Find `name` in a table: 1 and *ret when found, 0 when the table lacks the
 * name, or a negative errno when the name needs another architecture.
 */
static int find(const struct type *tab, size_t n, const char *name, const char *arch,
		const struct type **ret, struct vf_err *err)
{
	bool by_arch = false;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(tab[i].name, name))
			continue;
		if (!tab[i].arch) {
			*ret = &tab[i];
			return 1;
		}
		by_arch = true;
		if (arch && strcmp(tab[i].arch, arch) == 0) {
			*ret = &tab[i];
			return 1;
		}
	}
	if (!by_arch)
		return 0;
	if (!arch)
		return vf_err_set(err, EINVAL, "partition type '%s' depends on the architecture, "
				  "but none was given (expected \"x86_64\" or \"aarch64\")", name);
	return vf_err_set(err, EINVAL, "partition type '%s' has no GUID for architecture '%s' "
			  "(expected \"x86_64\" or \"aarch64\")", name, arch);
}

int vf_gpt_type_lookup(const char *name, const char *arch, const char *type_set,
		       uint8_t ret[16], struct vf_err *err)
{
	const struct type *t = NULL;
	uint8_t guid[16];
	char names[512] = "";
	bool bottlerocket;
	int r;

	if (!type_set || strcmp(type_set, "dps") == 0)
		bottlerocket = false;
	else if (strcmp(type_set, "bottlerocket") == 0)
		bottlerocket = true;
	else
		return vf_err_set(err, EINVAL, "unknown partition type set '%s' "
				  "(expected \"dps\" or \"bottlerocket\")", type_set);
	if (!name || !*name)
		return vf_err_set(err, EINVAL, "empty partition type name");
	if (vf_uuid_parse(name, guid) == 0) {
		if (vf_uuid_is_null(guid))
			return vf_err_set(err, EINVAL, "partition type %s is the all-zero GUID, "
					  "which marks an unused entry", name);
		memcpy(ret, guid, 16);
		return 0;
	}
	r = 0;
	if (bottlerocket)
		r = find(bottlerocket_types, N_BOTTLEROCKET, name, arch, &t, err);
	if (r == 0)
		r = find(dps_types, N_DPS, name, arch, &t, err);
	if (r < 0)
		return r;
	if (r == 0) {
		if (bottlerocket)
			list_names(bottlerocket_types, N_BOTTLEROCKET, names, sizeof(names));
		list_names(dps_types, N_DPS, names, sizeof(names));
		return vf_err_set(err, EINVAL, "unknown partition type '%s' in type set '%s' "
				  "(expected one of %s, or a GUID xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
				  name, bottlerocket ? "bottlerocket" : "dps", names);
	}
	if (vf_uuid_parse(t->guid, ret))
		return vf_err_set(err, EINVAL, "internal error: bad GUID text for type '%s'", name);
	return 0;
}

const char *vf_gpt_type_name(const uint8_t type[16])
{
	char text[VF_UUID_TEXT_LEN + 1];

	vf_uuid_format(type, text);
	for (size_t i = 0; i < N_DPS; i++)
		if (strcmp(dps_types[i].guid, text) == 0)
			return dps_types[i].display;
	for (size_t i = 0; i < N_BOTTLEROCKET; i++)
		if (strcmp(bottlerocket_types[i].guid, text) == 0)
			return bottlerocket_types[i].display;
	return NULL;
}
