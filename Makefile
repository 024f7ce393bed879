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
LDLIBS    += -lcrypto -lpthread

# The library: everything but the CLI, in dependency order.
LIB_SRCS  := $(wildcard builder/base/*.c) $(wildcard keys/*.c) $(wildcard builder/verity/*.c)
CLI_SRCS  := $(wildcard builder/cli/*.c)
UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

.PHONY: all deps install check check-nodeps check-asan unit integration demo bench bench-verity clean

all: $(BUILD)/vforge

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libvforge.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/vforge: $(CLI_OBJS) $(BUILD)/libvforge.a
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libvforge.a $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libvforge.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< \
		$(BUILD)/libvforge.a -lcmocka $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libvforge.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvforge.a $(LDLIBS)

deps:
	@ci/install-deps

install: $(BUILD)/vforge
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/vforge $(DESTDIR)$(PREFIX)/bin/vforge

# `make check`: install what is missing, then unit tests, then integration tests.
check: deps
	@$(MAKE) --no-print-directory check-nodeps

check-nodeps: $(BUILD)/vforge $(UNIT_BINS) $(TOOL_BINS)
	@tests/run-tests $(BUILD)

# The same tests, built with AddressSanitizer and UBSan.
check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPTFLAGS="$(SANFLAGS)" \
		HARDFLAGS="-fstack-protector-strong" LDFLAGS="$(LDFLAGS) -fsanitize=address,undefined" \
		check-nodeps

unit: $(UNIT_BINS)
integration: $(BUILD)/vforge $(TOOL_BINS)

demo: deps $(BUILD)/vforge $(TOOL_BINS)
	@ci/demo $(BUILD)

bench: bench-verity

bench-verity: deps $(BUILD)/vforge $(TOOL_BINS)
	@tests/bench/verity $(BUILD)

clean:
	rm -rf build build-asan

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
