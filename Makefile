# vforge: see README.md. `make` builds build/vforge; `make check` runs every test.
VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
CC        ?= cc

CPPFLAGS  += -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I. -DVF_VERSION=\"$(VERSION)\"
OPTFLAGS  ?= -O2 -g
WARNFLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wundef -Wwrite-strings -Wvla -Wimplicit-fallthrough
HARDFLAGS := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
SANFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
ALLCFLAGS  = $(OPTFLAGS) $(WARNFLAGS) $(HARDFLAGS) $(CFLAGS)
LDLIBS    += -larchive -ljansson -lext2fs -lcom_err -lfdisk -lzstd -lcurl -lcrypto -lpthread

# The library: everything but the CLI, in dependency order.
LIB_SRCS  := $(wildcard builder/base/*.c) $(wildcard keys/*.c) $(wildcard builder/verity/*.c) \
             $(wildcard builder/manifest/*.c) $(wildcard builder/tree/*.c) $(wildcard builder/ext4/*.c) \
             $(wildcard builder/gpt/*.c) $(wildcard builder/image/*.c) $(wildcard repo/*.c) \
             $(wildcard builder/update/*.c) $(wildcard builder/diff/*.c) \
             $(wildcard builder/initramfs/*.c) $(wildcard builder/boottest/*.c)
CLI_SRCS  := $(wildcard builder/cli/*.c)
UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECS ?= 10
# A fixed seed keeps `make check` reproducible; FUZZ_SEED=0 lets libFuzzer pick one.
FUZZ_SEED ?= 1

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: packages all deps install man check check-nodeps check-asan check-fuzz fuzz-run unit integration demo \
        bench bench-verity bench-build bench-repo bench-client clean

all: $(BUILD)/vforge

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -MMD -MP -c $< -o $@

# keys/pkcs11.c uses OpenSSL's ENGINE API (libp11's engine: Debian 12 has no pkcs11-provider),
# deprecated in OpenSSL 3.0: that one file is built without the deprecation warning.
$(BUILD)/obj/keys/pkcs11.o: ALLCFLAGS += -Wno-deprecated-declarations

# Member names in an archive are base names: two sources with the same base
# name would silently replace each other, so refuse that.
$(BUILD)/libvforge.a: $(LIB_OBJS)
	@dups=$$(for f in $(notdir $^); do echo $$f; done | sort | uniq -d); \
	if [ -n "$$dups" ]; then echo "library sources share base names: $$dups" >&2; exit 1; fi
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/vforge: $(CLI_OBJS) $(BUILD)/libvforge.a
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libvforge.a $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/testutil.c tests/unit/testutil.h $(wildcard tests/unit/*/*.h) \
                     $(BUILD)/libvforge.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< tests/unit/testutil.c \
		$(BUILD)/libvforge.a -lcmocka $(LDLIBS)

# libFuzzer targets: clang only, built in their own directory (see check-fuzz).
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libvforge.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -Wno-missing-prototypes -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(BUILD)/libvforge.a $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libvforge.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvforge.a $(LDLIBS)

deps:
	@ci/install-deps

install: $(BUILD)/vforge
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BUILD)/vforge $(DESTDIR)$(PREFIX)/bin/vforge
	install -m 0644 docs/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

# The man pages are generated from the command table's help (tests/integration/015-man.sh
# checks that they are current).
man: $(BUILD)/vforge
	ci/gen-man $(BUILD)/vforge docs/man

# `make check`: install what is missing, then unit tests, then integration tests.
check: deps
	@$(MAKE) --no-print-directory check-fuzz
	@$(MAKE) --no-print-directory check-nodeps

check-nodeps: $(BUILD)/vforge $(UNIT_BINS) $(TOOL_BINS)
	@ci/make-packages $(BUILD) >/dev/null
	@tests/run-tests $(BUILD)

# The same tests, built with AddressSanitizer and UBSan.
check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPTFLAGS="$(SANFLAGS)" \
		HARDFLAGS="-fstack-protector-strong" LDFLAGS="$(LDFLAGS) -fsanitize=address,undefined" \
		check-nodeps

# Fuzz every parser briefly (FUZZ_SECS each) with clang's libFuzzer, from the
# committed seed corpus in tests/fuzz/corpus/<target>/. Part of `make check`.
check-fuzz:
	@if [ -n "$(FUZZ_SRCS)" ]; then $(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
		OPTFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined" \
		HARDFLAGS="" fuzz-run; fi

fuzz-run: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
		name=$$(basename $$f); corpus=$(BUILD)/fuzz/corpus-$$name; \
		rm -rf $$corpus; mkdir -p $$corpus; \
		[ -d tests/fuzz/corpus/$$name ] && cp tests/fuzz/corpus/$$name/* $$corpus/ 2>/dev/null; \
		echo "fuzz $$name for $(FUZZ_SECS)s"; \
		$$f -seed=$(FUZZ_SEED) -max_total_time=$(FUZZ_SECS) -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix=$(BUILD)/fuzz/$$name- \
			$$corpus >$(BUILD)/fuzz/$$name.log 2>&1 || \
			{ tail -40 $(BUILD)/fuzz/$$name.log; echo "fuzz $$name: FAILED"; exit 1; }; \
		echo "fuzz $$name: ok, $$(grep -aEo '^#[0-9]+' $(BUILD)/fuzz/$$name.log | tail -1 | tr -d '#') runs"; \
	done

unit: $(UNIT_BINS)
integration: $(BUILD)/vforge $(TOOL_BINS)

# The demo packages, built from source in variants/packages and pinned by sha256.
packages: $(BUILD)/vforge
	@ci/make-packages $(BUILD)

demo: deps $(BUILD)/vforge $(TOOL_BINS)
	@ci/demo $(BUILD)

# Every benchmark, then one table of vforge against the peer tools of the same run.
bench: deps $(BUILD)/vforge $(TOOL_BINS)
	@mkdir -p $(BUILD)/bench; : >$(BUILD)/bench/summary.tsv
	@BENCH_SUMMARY=$$(pwd)/$(BUILD)/bench/summary.tsv tests/bench/verity $(BUILD)
	@BENCH_SUMMARY=$$(pwd)/$(BUILD)/bench/summary.tsv tests/bench/build $(BUILD)
	@BENCH_SUMMARY=$$(pwd)/$(BUILD)/bench/summary.tsv tests/bench/repo $(BUILD)
	@BENCH_SUMMARY=$$(pwd)/$(BUILD)/bench/summary.tsv tests/bench/client $(BUILD)
	@ci/bench-table $(BUILD)/bench/summary.tsv

bench-build: deps $(BUILD)/vforge
	@tests/bench/build $(BUILD)

bench-verity: deps $(BUILD)/vforge $(TOOL_BINS)
	@tests/bench/verity $(BUILD)

bench-repo: deps $(BUILD)/vforge $(TOOL_BINS)
	@tests/bench/repo $(BUILD)
	@tests/bench/client $(BUILD)

bench-client: deps $(BUILD)/vforge $(TOOL_BINS)
	@tests/bench/client $(BUILD)

clean:
	rm -rf build build-asan build-fuzz build-clang

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
