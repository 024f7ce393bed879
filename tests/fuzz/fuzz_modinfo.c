/*
 * libFuzzer target: the ELF64 .modinfo reader of builder/initramfs on
 * arbitrary bytes. A failure must say why and leave nothing behind; a success
 * must hold only valid module names. Built by `make check-fuzz`.
 */
#include "builder/initramfs/initramfs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vf_modinfo mi;
	struct vf_err err = { 0 };

	if (vf_modinfo_parse(data, size, &mi, &err)) {
		if (!err.msg[0] || err.code >= 0 || mi.name || mi.depends || mi.n_depends)
			abort();
		return 0;
	}
	if (mi.name && !vf_kmod_is_name(mi.name))
		abort();
	if (mi.n_depends > VF_MODINFO_MAX_DEPENDS)
		abort();
	for (size_t i = 0; i < mi.n_depends; i++)
		if (!vf_kmod_is_name(mi.depends[i]))
			abort();
	vf_modinfo_release(&mi);
	return 0;
}
