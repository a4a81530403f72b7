# hlsd build. Sources are found by wildcard so that each module only adds
# files: ipc/, workers/ and daemon/ (minus daemon/main.c) become one static
# library; every tools/*.c is a program; every tests/test_*.c goes into one
# Criterion binary so that `make test` ends with one summary line.
#
#   make            build everything (bin/)
#   make test       install deps, build, run every test
#   make test-asan  the same under AddressSanitizer + UBSan (build/asan/)
#   make run        install the runtime deps, build hlsd and hlsctl only, run
#                   hlsd in the foreground (./var)
#   make install    hlsd, hlsctl, config, man pages, init script, systemd
#                   unit, sysusers file, bash completion (PREFIX, DESTDIR,
#                   SYSCONFDIR; see "Installing" below); make uninstall
#   make deb        hlsd_VERSION_ARCH.deb from the same install (DEB_OUT=dir)
#   make bench      every benchmark (bench-ring, bench-convert, bench-upload, bench-pipeline,
#                   bench-ctl, bench-http); make bench-scale (a 2-hour input: long, not in bench)
#   make fuzz       libFuzzer targets (clang): ctl's request parser, the
#                   master's ring-record checks, the config parser;
#                   FUZZ_TIME seconds each (60; `make test` runs 15)
#   make test-faults  the fault suites with long rounds (a 2-minute S3
#                   outage, 100 kill -9 rounds); docs/reliability.md
#   make lint       clang-format check
#   make deps       install the Debian packages the build and tests need
#                   (tools/deps.sh test; `tools/deps.sh run` for running only)

BUILD  ?= build
BINDIR ?= bin
SAN    ?=

# hlsd itself links only CORE_PKGS; the conversion and upload engines and
# the HTTP API's server are shared objects that a child loads after its
# fork (daemon/plugin.h), so that the master maps none of FFmpeg's,
# libcurl's or libmicrohttpd's libraries. The tools and the tests link
# everything, statically, as before.
CORE_PKGS    := inih sqlite3 jansson
CONVERT_PKGS := libavformat libavcodec libavfilter libswscale libswresample libavutil
UPLOAD_PKGS  := libcurl libcrypto
HTTP_PKGS    := libmicrohttpd
PKGS := $(CONVERT_PKGS) $(UPLOAD_PKGS) $(HTTP_PKGS) $(CORE_PKGS)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CORE_LIBS    := $(shell pkg-config --libs $(CORE_PKGS) 2>/dev/null) -ldl -lpthread -lm -lrt
CONVERT_LIBS := $(shell pkg-config --libs $(CONVERT_PKGS) jansson 2>/dev/null) -lm
UPLOAD_LIBS  := $(shell pkg-config --libs $(UPLOAD_PKGS) 2>/dev/null)
HTTP_LIBS    := $(shell pkg-config --libs $(HTTP_PKGS) jansson 2>/dev/null)

# the one source of the version: compiled into hlsd and hlsctl, names the .deb
VERSION := $(shell cat VERSION)

CC      ?= gcc
OPT     ?= -O2
CFLAGS  := -std=c11 -Wall -Wextra -Werror $(OPT) -g -fPIC -D_GNU_SOURCE \
           -I. -DHLSD_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -Wl,--as-needed $(EXTRA_LDFLAGS)
LDLIBS  := $(PKG_LIBS) -ldl -lpthread -lm -lrt

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS  := $(wildcard ipc/*.c) $(wildcard workers/*.c) \
             $(filter-out daemon/main.c,$(wildcard daemon/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libhlsd.a
# the engines' files, by name, so that a new convert_*.c or storage_*.c
# lands in its plugin without a word here; convert_caption.c,
# convert_lang.c and convert_ladder.c stay in the core, as ctl checks
# caption files and the configuration loader ladders
CONVERT_SO_SRCS := $(filter-out workers/convert_caption.c workers/convert_lang.c \
                   workers/convert_ladder.c, \
                   $(wildcard workers/convert*.c)) workers/convworker.c
UPLOAD_SO_SRCS  := $(wildcard workers/storage*.c workers/upworker*.c)
# the HTTP process's server side; binding the socket (http_listen.c) and
# checking the token file (http_tokens.c) happen in main, before the privilege drop
HTTP_SO_SRCS    := $(filter-out daemon/http_listen.c daemon/http_tokens.c,$(wildcard daemon/http*.c))
CORE_SRCS := $(filter-out $(CONVERT_SO_SRCS) $(UPLOAD_SO_SRCS) $(HTTP_SO_SRCS),$(LIB_SRCS))
CORE_LIB  := $(BUILD)/libhlsd-core.a
PLUGINS   := $(BINDIR)/hlsd-convert.so $(BINDIR)/hlsd-upload.so $(BINDIR)/hlsd-http.so
TOOL_SRCS := $(wildcard tools/*.c)
# hlsctl is one program of several files, in a folder of its own
HLSCTL_SRCS := $(wildcard tools/hlsctl/*.c)
HLSCTL_OBJS := $(HLSCTL_SRCS:%.c=$(BUILD)/%.o)
TOOLS     := $(TOOL_SRCS:tools/%.c=$(BINDIR)/%) $(if $(HLSCTL_SRCS),$(BINDIR)/hlsctl)
DAEMON    := $(if $(wildcard daemon/main.c),$(BINDIR)/hlsd $(PLUGINS))
# hlsd with the test-only fault hooks (HLSD_TEST_HOOKS: e.g. a conversion
# that crashes at a chosen segment, see docs/reliability.md): a tree of its
# own, $(BINDIR)/hooks/, as hlsd loads the plugins beside it; its
# conversion plugin is built with the hooked objects in place of the
# plain ones; never installed
HOOK_SRCS := workers/convworker.c
HOOK_OBJS := $(HOOK_SRCS:%.c=$(BUILD)/hooks/%.o)
HOOKED    := $(if $(wildcard daemon/main.c),$(addprefix $(BINDIR)/hooks/,hlsd $(notdir $(PLUGINS))))
TEST_SRCS := $(wildcard tests/*.c)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/%.o)
TEST_BIN  := $(BUILD)/tests/hlsd-tests
FUZZ_SRCS := $(wildcard tests/fuzz/*.c)
ALL_SRCS  := $(LIB_SRCS) $(TOOL_SRCS) $(HLSCTL_SRCS) $(TEST_SRCS) $(FUZZ_SRCS) $(wildcard daemon/main.c)
ALL_HDRS  := $(wildcard ipc/*.h workers/*.h daemon/*.h tools/*.h tools/hlsctl/*.h tests/*.h)

.SECONDARY:
.SECONDEXPANSION:

.PHONY: all test test-asan test-run run demo bench bench-ring bench-convert fuzz test-faults \
        bench-upload bench-pipeline bench-ctl bench-http bench-scale lint format deps deps-run clean \
        install uninstall deb

all: $(LIB) $(TOOLS) $(DAEMON) $(HOOKED) $(TEST_BIN)

# every object depends on VERSION (compiled in through CFLAGS) and on this
# file (CFLAGS: a build tree from before -fPIC must not link into a plugin)
$(BUILD)/%.o: %.c VERSION Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/hooks/%.o: %.c VERSION
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DHLSD_TEST_HOOKS -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BINDIR)/%: $(BUILD)/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BINDIR)/hlsctl: $(HLSCTL_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(HLSCTL_OBJS) $(LIB) $(LDLIBS)

$(CORE_LIB): $(CORE_SRCS:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# the whole core, and the symbols the plugins call (daemon/plugin.sym)
# exported: nothing else, so that no library a plugin pulls in can bind to
# a name of ours by accident
$(BINDIR)/hlsd: $(BUILD)/daemon/main.o $(CORE_LIB) daemon/plugin.sym | $(PLUGINS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -Wl,--dynamic-list=daemon/plugin.sym -o $@ $< \
	  -Wl,--whole-archive $(CORE_LIB) -Wl,--no-whole-archive $(CORE_LIBS)

$(BINDIR)/hlsd-convert.so: $(CONVERT_SO_SRCS:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -shared -o $@ $^ $(CONVERT_LIBS)

$(BINDIR)/hlsd-upload.so: $(UPLOAD_SO_SRCS:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -shared -o $@ $^ $(UPLOAD_LIBS)

$(BINDIR)/hlsd-http.so: $(HTTP_SO_SRCS:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -shared -o $@ $^ $(HTTP_LIBS)

$(BINDIR)/hooks/hlsd-convert.so: $(HOOK_OBJS) \
                                 $(filter-out $(HOOK_SRCS:%.c=$(BUILD)/%.o),$(CONVERT_SO_SRCS:%.c=$(BUILD)/%.o))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -shared -o $@ $^ $(CONVERT_LIBS)

$(BINDIR)/hooks/%: $(BINDIR)/%
	@mkdir -p $(dir $@)
	cp -f $< $@

$(TEST_BIN): $(TEST_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJS) $(LIB) $(LDLIBS) -lcriterion

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%.d) \
         $(HLSCTL_OBJS:.o=.d) $(BUILD)/daemon/main.d $(HOOK_OBJS:.o=.d)

deps:
	@tools/deps.sh test

deps-run:
	@tools/deps.sh run

# The deps step runs first in its own make so that pkg-config flags are read
# after the -dev packages exist.
test: deps
	@$(MAKE) --no-print-directory all
	@# the fuzz targets first: Criterion's summary is the last line printed
	@$(MAKE) --no-print-directory fuzz FUZZ_TIME=15
	@BINDIR=$(abspath $(BINDIR)) TEST_BIN=$(abspath $(TEST_BIN)) tools/run-tests.sh $(T)

# the fault suites alone, with the long rounds (docs/reliability.md)
test-faults: deps
	@$(MAKE) --no-print-directory all
	@HLSD_FAULT_OUTAGE_S=120 HLSD_FAULT_ROUNDS=100 BINDIR=$(abspath $(BINDIR)) \
	 TEST_BIN=$(abspath $(TEST_BIN)) tools/run-tests.sh --filter 'faults*/*' $(T)

# ---------------------------------------------------------------- Fuzzing
#
# Each target is built with clang's libFuzzer, AddressSanitizer and UBSan
# from the few sources it exercises, and run for FUZZ_TIME seconds on a
# copy of its seed corpus (tests/fuzz/corpus/<name>/: new inputs it finds
# go to build/fuzz/corpus-<name>/, the seeds stay as committed). A crash
# leaves its input as build/fuzz/crash-* and fails the target.
FUZZ_CC   ?= clang
FUZZ_TIME ?= 60
FUZZ_CFLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -I. -DHLSD_VERSION='"$(VERSION)"' $(PKG_CFLAGS) \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_NAMES := request ring config
FUZZ_DEPS_request := daemon/ctl_request.c
FUZZ_DEPS_ring    := ipc/record.c ipc/msg.c ipc/proto.c ipc/ring.c ipc/futex.c ipc/msclock.c
FUZZ_DEPS_config  := daemon/config.c daemon/ctl_request.c workers/convert_ladder.c
FUZZ_BINS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_DEPS_$$*) $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_DEPS_$*) $(PKG_LIBS) -lpthread -lm -lrt

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_NAMES); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t && \
	  echo "fuzz: $$t for $(FUZZ_TIME) s" && \
	  ( cd $(BUILD)/fuzz && ./fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	      -print_final_stats=0 corpus-$$t $(abspath tests/fuzz/corpus)/$$t >fuzz_$$t.log 2>&1 ) || \
	  { tail -40 $(BUILD)/fuzz/fuzz_$$t.log; echo "fuzz: $$t FAILED (input: $(BUILD)/fuzz/crash-*)"; exit 1; }; \
	  grep -E '^#[0-9]+.*DONE' $(BUILD)/fuzz/fuzz_$$t.log | tail -1; \
	done
	@echo "fuzz: ok"

test-asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan BINDIR=build/asan/bin SAN=1 OPT=-O1 all
	@ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	 BINDIR=$(abspath build/asan/bin) TEST_BIN=$(abspath build/asan/tests/hlsd-tests) \
	 HLSD_SANITIZED=1 tools/run-tests.sh $(T)

# only what running needs: the runtime packages, the library, hlsd, hlsctl
run: deps-run
	@$(MAKE) --no-print-directory $(BINDIR)/hlsd $(BINDIR)/hlsctl
	@mkdir -p var
	$(BINDIR)/hlsd -f -c etc/hlsd.local.conf

demo:
	@tools/deps.sh demo
	@$(MAKE) --no-print-directory $(BINDIR)/hlsd $(BINDIR)/hlsctl
	@tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@export HLSD_BENCH_SUMMARY=$$(mktemp /tmp/hlsd-bench-summary.XXXXXX); \
	 for b in ring convert upload pipeline ctl http; do $(MAKE) --no-print-directory bench-$$b || exit 1; done; \
	 . tools/bench-summary.sh && bench_summary "$$HLSD_BENCH_SUMMARY"; rm -f "$$HLSD_BENCH_SUMMARY"

bench-ring: $(BINDIR)/ringbench
	$(BINDIR)/ringbench

bench-convert: all
	tools/bench-convert.sh

bench-upload: all
	tools/bench-upload.sh

bench-pipeline: all
	tools/bench-pipeline.sh

bench-ctl: all
	tools/bench-ctl.sh

bench-http: all
	tools/bench-http.sh

bench-scale: all
	tools/bench-scale.sh

lint:
	@clang-format --dry-run --Werror $(ALL_SRCS) $(ALL_HDRS)
	@echo "lint: ok"

format:
	clang-format -i $(ALL_SRCS) $(ALL_HDRS)

clean:
	rm -rf build bin

# ---------------------------------------------------------------- Installing
#
# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]
#
# SYSCONFDIR is /etc whatever the PREFIX: hlsd's compiled-in default
# configuration is /etc/hlsd/hlsd.conf. With another SYSCONFDIR the init
# script, the unit and the man pages installed name the file there (the
# unit and the script pass it with -c). An existing hlsd.conf is never
# overwritten. The finer directories may be set too (lower case, as in the
# GNU conventions, since BINDIR is the build's output directory).
# NOBUILD=1 installs what $(BINDIR) holds without trying to build it (the
# tests use it on a tree that is already built).
PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
DESTDIR     ?=
sbindir     ?= $(PREFIX)/sbin
libdir      ?= $(PREFIX)/lib
pkglibdir   ?= $(libdir)/hlsd
bindir      ?= $(PREFIX)/bin
datadir     ?= $(PREFIX)/share
mandir      ?= $(datadir)/man
docdir      ?= $(datadir)/doc/hlsd
bashcompdir ?= $(datadir)/bash-completion/completions
unitdir     ?= $(PREFIX)/lib/systemd/system
sysusersdir ?= $(PREFIX)/lib/sysusers.d
initdir     ?= $(SYSCONFDIR)/init.d
INSTALL     ?= install

MANPAGES := docs/man/hlsctl.1 docs/man/hlsd.conf.5 docs/man/hlsd.8
# installed files that name the installed paths
SUBST := sed -e 's|/usr/sbin/hlsd|$(sbindir)/hlsd|g' \
             -e 's|/usr/lib/hlsd|$(pkglibdir)|g' \
             -e 's|/usr/bin/hlsctl|$(bindir)/hlsctl|g' \
             -e 's|/etc/hlsd/hlsd.conf|$(SYSCONFDIR)/hlsd/hlsd.conf|g' \
             -e 's|/usr/share/doc/hlsd|$(docdir)|g'
INSTALL_BINS := $(if $(NOBUILD),,$(BINDIR)/hlsd $(BINDIR)/hlsctl $(PLUGINS))

install: $(INSTALL_BINS)
	@test -x $(BINDIR)/hlsd && test -x $(BINDIR)/hlsctl && \
	 for p in $(PLUGINS); do test -f $$p || exit 1; done || \
	 { echo "install: $(BINDIR)/hlsd, its plugins and $(BINDIR)/hlsctl are not built" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(SYSCONFDIR)/hlsd \
	  $(DESTDIR)$(pkglibdir) \
	  $(DESTDIR)$(SYSCONFDIR)/default \
	  $(DESTDIR)$(initdir) $(DESTDIR)$(unitdir) $(DESTDIR)$(sysusersdir) \
	  $(DESTDIR)$(bashcompdir) $(DESTDIR)$(docdir) \
	  $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8
	$(INSTALL) -m 0755 $(BINDIR)/hlsd $(DESTDIR)$(sbindir)/hlsd
	$(INSTALL) -m 0644 $(PLUGINS) $(DESTDIR)$(pkglibdir)/
	$(INSTALL) -m 0755 $(BINDIR)/hlsctl $(DESTDIR)$(bindir)/hlsctl
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/hlsd/hlsd.conf ]; then \
	  echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/hlsd/hlsd.conf (the shipped one is $(docdir)/hlsd.conf.example)"; \
	else \
	  echo "$(INSTALL) -m 0644 etc/hlsd.conf $(DESTDIR)$(SYSCONFDIR)/hlsd/hlsd.conf"; \
	  $(INSTALL) -m 0644 etc/hlsd.conf $(DESTDIR)$(SYSCONFDIR)/hlsd/hlsd.conf; \
	fi
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/default/hlsd ]; then \
	  echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/default/hlsd"; \
	else \
	  echo "$(SUBST) etc/default/hlsd >$(DESTDIR)$(SYSCONFDIR)/default/hlsd"; \
	  $(SUBST) etc/default/hlsd >$(DESTDIR)$(SYSCONFDIR)/default/hlsd && \
	  chmod 0600 $(DESTDIR)$(SYSCONFDIR)/default/hlsd; \
	fi
	$(INSTALL) -m 0644 etc/hlsd.conf $(DESTDIR)$(docdir)/hlsd.conf.example
	$(INSTALL) -m 0644 README.md $(DESTDIR)$(docdir)/README.md
	$(SUBST) etc/init.d/hlsd >$(DESTDIR)$(initdir)/hlsd && chmod 0755 $(DESTDIR)$(initdir)/hlsd
	$(SUBST) etc/hlsd.service >$(DESTDIR)$(unitdir)/hlsd.service && chmod 0644 $(DESTDIR)$(unitdir)/hlsd.service
	$(INSTALL) -m 0644 etc/hlsd.sysusers $(DESTDIR)$(sysusersdir)/hlsd.conf
	$(INSTALL) -m 0644 etc/bash-completion/hlsctl $(DESTDIR)$(bashcompdir)/hlsctl
	for m in $(MANPAGES); do \
	  s=$${m##*.}; $(SUBST) $$m >$(DESTDIR)$(mandir)/man$$s/$${m##*/} && \
	  chmod 0644 $(DESTDIR)$(mandir)/man$$s/$${m##*/} || exit 1; \
	done

# the configuration and the defaults file go only if they are the ones
# shipped, unchanged
uninstall:
	rm -f $(DESTDIR)$(sbindir)/hlsd $(DESTDIR)$(bindir)/hlsctl \
	  $(addprefix $(DESTDIR)$(pkglibdir)/,$(notdir $(PLUGINS))) \
	  $(DESTDIR)$(initdir)/hlsd $(DESTDIR)$(unitdir)/hlsd.service \
	  $(DESTDIR)$(sysusersdir)/hlsd.conf $(DESTDIR)$(bashcompdir)/hlsctl \
	  $(DESTDIR)$(docdir)/hlsd.conf.example $(DESTDIR)$(docdir)/README.md \
	  $(DESTDIR)$(mandir)/man1/hlsctl.1 $(DESTDIR)$(mandir)/man5/hlsd.conf.5 \
	  $(DESTDIR)$(mandir)/man8/hlsd.8
	@if cmp -s etc/hlsd.conf $(DESTDIR)$(SYSCONFDIR)/hlsd/hlsd.conf; then \
	  rm -f $(DESTDIR)$(SYSCONFDIR)/hlsd/hlsd.conf; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/hlsd/hlsd.conf ]; then \
	  echo "uninstall: keeping the changed $(DESTDIR)$(SYSCONFDIR)/hlsd/hlsd.conf"; \
	fi
	@if $(SUBST) etc/default/hlsd | cmp -s - $(DESTDIR)$(SYSCONFDIR)/default/hlsd; then \
	  rm -f $(DESTDIR)$(SYSCONFDIR)/default/hlsd; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/default/hlsd ]; then \
	  echo "uninstall: keeping the changed $(DESTDIR)$(SYSCONFDIR)/default/hlsd"; \
	fi
	-rmdir $(DESTDIR)$(SYSCONFDIR)/hlsd $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(docdir) \
	  $(DESTDIR)$(pkglibdir) 2>/dev/null

# make deb [DEB_OUT=.]: tools/mkdeb.sh stages `make install PREFIX=/usr`
# and builds hlsd_$(VERSION)_ARCH.deb with dpkg-deb
DEB_OUT ?= .
deb: $(INSTALL_BINS)
	@MAKE="$(MAKE)" BINDIR=$(abspath $(BINDIR)) tools/mkdeb.sh $(VERSION) $(DEB_OUT)
