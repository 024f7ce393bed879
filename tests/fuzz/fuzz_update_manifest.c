/*
 * libFuzzer target: parse manifest.json (Bottlerocket's update manifest) and,
 * when it parses, check that it formats to text that parses and formats to
 * the same bytes, and that readiness answers for every wave boundary without
 * crashing; the input's first byte chosen odd parses it as a wave plan
 * instead. Built by `make check-fuzz`; the seed corpus is
 * tests/fuzz/corpus/fuzz_update_manifest/.
 */
#include "repo/update_manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_plan(const uint8_t *data, size_t size)
{
	struct vf_waves w;
	struct vf_err err = { 0 };
	time_t t;

	vf_waves_init(&w);
	if (vf_waves_parse_plan(data, size, 1800000000, &w, &err)) {
		if (!err.msg[0] || err.code >= 0)
			abort();
	} else {
		for (uint32_t seed = 0; seed <= 2048; seed += 97)
			(void)vf_waves_get_ready_time(&w, seed, &t);
	}
	vf_waves_release(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vf_update_manifest *m = NULL, *again = NULL;
	struct vf_buf a = VF_BUF_INIT, b = VF_BUF_INIT;
	struct vf_err err = { 0 };

	if (size && (data[0] & 1) && data[0] != '{') {
		fuzz_plan(data + 1, size - 1);
		return 0;
	}
	if (vf_update_manifest_parse(data, size, &m, &err)) {
		/* a failure always says why, and leaves nothing behind */
		if (!err.msg[0] || err.code >= 0 || m)
			abort();
		return 0;
	}
	if (vf_update_manifest_format(m, &a, &err) ||
	    vf_update_manifest_parse(a.data, a.len, &again, &err) ||
	    vf_update_manifest_format(again, &b, &err))
		abort();
	if (a.len != b.len || memcmp(a.data, b.data, a.len))
		abort();
	vf_update_manifest_free(again);
	vf_update_manifest_free(m);
	vf_buf_release(&a);
	vf_buf_release(&b);
	return 0;
}
