# hlsd build. Sources are found by wildcard so that each module only adds
# files: ipc/, workers/ and daemon/ (minus daemon/main.c) become one static
# library; every tools/*.c is a program; every tests/test_*.c goes into one
# Criterion binary so that `make test` ends with one summary line.
#
#   make            build everything (bin/)
#   make test       install deps, build, run every test
#   make test-asan  the same under AddressSanitizer + UBSan (build/asan/)
#   make run        install deps, build, run hlsd in the foreground (./var)
#   make bench      every benchmark (bench-ring, bench-convert, bench-upload)
#   make lint       clang-format check
#   make deps       install the Debian packages the build and tests need

BUILD  ?= build
BINDIR ?= bin
SAN    ?=

PKGS := libavformat libavcodec libavfilter libswscale libswresample libavutil \
        libcurl libcrypto inih sqlite3 jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# the one source of the version: compiled into hlsd and hlsctl, names the .deb
VERSION := $(shell cat VERSION)

CC      ?= gcc
OPT     ?= -O2
CFLAGS  := -std=c11 -Wall -Wextra -Werror $(OPT) -g -D_GNU_SOURCE \
           -I. -DHLSD_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -Wl,--as-needed $(EXTRA_LDFLAGS)
LDLIBS  := $(PKG_LIBS) -lpthread -lm -lrt

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS  := $(wildcard ipc/*.c) $(wildcard workers/*.c) \
             $(filter-out daemon/main.c,$(wildcard daemon/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libhlsd.a
TOOL_SRCS := $(wildcard tools/*.c)
TOOLS     := $(TOOL_SRCS:tools/%.c=$(BINDIR)/%)
DAEMON    := $(if $(wildcard daemon/main.c),$(BINDIR)/hlsd)
TEST_SRCS := $(wildcard tests/*.c)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/%.o)
TEST_BIN  := $(BUILD)/tests/hlsd-tests
ALL_SRCS  := $(LIB_SRCS) $(TOOL_SRCS) $(TEST_SRCS) $(wildcard daemon/main.c)

.SECONDARY:

.PHONY: all test test-asan test-run run demo bench bench-ring bench-convert \
        bench-upload lint format deps clean

all: $(LIB) $(TOOLS) $(DAEMON) $(TEST_BIN)

# every object depends on VERSION: it is compiled in through CFLAGS
$(BUILD)/%.o: %.c VERSION
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BINDIR)/%: $(BUILD)/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BINDIR)/hlsd: $(BUILD)/daemon/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(TEST_BIN): $(TEST_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJS) $(LIB) $(LDLIBS) -lcriterion

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%.d)

deps:
	@tools/deps.sh

# The deps step runs first in its own make so that pkg-config flags are read
# after the -dev packages exist.
test: deps
	@$(MAKE) --no-print-directory all
	@BINDIR=$(abspath $(BINDIR)) TEST_BIN=$(abspath $(TEST_BIN)) tools/run-tests.sh $(T)

test-asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan BINDIR=build/asan/bin SAN=1 OPT=-O1 all
	@ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	 BINDIR=$(abspath build/asan/bin) TEST_BIN=$(abspath build/asan/tests/hlsd-tests) \
	 HLSD_SANITIZED=1 tools/run-tests.sh $(T)

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	$(BINDIR)/hlsd -f -c etc/hlsd.local.conf

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@for b in ring convert upload; do $(MAKE) --no-print-directory bench-$$b || exit 1; done

bench-ring: $(BINDIR)/ringbench
	$(BINDIR)/ringbench

bench-convert: all
	tools/bench-convert.sh

bench-upload: all
	tools/bench-upload.sh

lint:
	@clang-format --dry-run --Werror $(ALL_SRCS) $(wildcard ipc/*.h workers/*.h daemon/*.h tools/*.h tests/*.h)
	@echo "lint: ok"

format:
	clang-format -i $(ALL_SRCS) $(wildcard ipc/*.h workers/*.h daemon/*.h tools/*.h tests/*.h)

clean:
	rm -rf build bin
