/*
 * libFuzzer target: compose a manifest from memory and, when it loads, print
 * it as JSON. Includes resolve against a directory that does not exist, so
 * they fail cleanly instead of reading the host. Built by `make check-fuzz`.
 */
#include "builder/manifest/manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vf_manifest *m = NULL;
	struct vf_err err = { 0 };
	char *json = NULL;

	if (vf_manifest_load_buffer("fuzz.json", "/nonexistent-fuzz", data, size, &m, &err)) {
		/* a failure always says why, and leaves nothing behind */
		if (!err.msg[0] || err.code >= 0 || m)
			abort();
		return 0;
	}
	if (!m || !m->name || !m->version || !m->arch || !m->json)
		abort();
	/* the sorted typed arrays and the derived layout hold their invariants */
	for (size_t i = 1; i < m->n_pkgs; i++)
		if (strcmp(m->pkgs[i - 1].name, m->pkgs[i].name) >= 0)
			abort();
	for (size_t i = 1; i < m->n_files; i++)
		if (strcmp(m->files[i - 1].path, m->files[i].path) >= 0)
			abort();
	for (size_t i = 0; i < m->layout.n_parts; i++)
		if (!m->layout.parts[i].size || m->layout.parts[i].size % (1u << 20) ||
		    m->layout.parts[i].start % (1u << 20) || m->layout.parts[i].start < (1u << 20))
			abort();
	if (vf_manifest_format_json(m, &json, &err) || !json || !json[0])
		abort();
	free(json);
	vf_manifest_free(m);
	return 0;
}
