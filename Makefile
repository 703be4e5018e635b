# cybil — harvest, review and publish consented records.
# See README.md. Everything is derived from PROGS and the files in lib/.

VERSION = 0.1.0

PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
LIBEXECDIR = $(PREFIX)/libexec/cybil
MANPREFIX = $(PREFIX)/share/man
DESTDIR =

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
LDFLAGS ?=

# One folder per program; the folder "cybil" builds bin/cybil, any other
# folder NAME builds bin/cybil-NAME.
PROGS = cybil fetch parse review publish verify pull
PKGS = libcurl libxml-2.0 sqlite3 jansson inih libsodium libutf8proc libarchive libzstd

WARNINGS = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla \
	-Wnull-dereference -Wundef -Wcast-align -Wwrite-strings
# inih is built by Debian with a line-number argument to the handler.
DEFS = -D_POSIX_C_SOURCE=200809L -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -DINI_HANDLER_LINENO=1 \
	-DCYBIL_VERSION='"$(VERSION)"' -DCYBIL_LIBEXECDIR='"$(LIBEXECDIR)"'

ifeq ($(FUZZ),1)
# libFuzzer targets (make fuzz): clang, with ASan and UBSan. Clang's
# -Wcast-align also flags the config reader's member access through
# offsetof, which is aligned; gcc's builds keep the warning.
CC = clang
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Wno-cast-align
BUILD = build/fuzz
else ifeq ($(SANITIZE),1)
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
BUILD = build/sanitize
else
SANFLAGS =
BUILD = build/release
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# Only cybil-review serves HTTP (its web console).
CONSOLE_CFLAGS := $(shell $(PKG_CONFIG) --cflags libmicrohttpd 2>/dev/null)
CONSOLE_LIBS := $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null)
ALL_CFLAGS = -std=c11 -pthread $(WARNINGS) $(DEFS) -Iinclude $(PKG_CFLAGS) \
	$(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS = -pthread $(SANFLAGS) $(LDFLAGS)

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBCYBIL = $(BUILD)/libcybil.a

progname = $(if $(filter cybil,$(1)),cybil,cybil-$(1))
BINS = $(foreach p,$(PROGS),bin/$(call progname,$(p)))

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/tests/%)
# Seconds per target for make fuzz.
FUZZ_SECONDS = 60

MANPAGES = $(wildcard man/*.1 man/*.5)

.PHONY: all deps check unit e2e demo bench torture fuzz fuzz-bins install uninstall clean
.SUFFIXES:
# A failed recipe leaves no half-made target behind.
.DELETE_ON_ERROR:
# Keep the test objects: they are intermediate files of the test binaries.
# (Only these: a bare .SECONDARY would also stop bin/.build's FORCE from
# relinking bin/ when SANITIZE changes.)
.SECONDARY: $(UNIT_SRC:%.c=$(BUILD)/%.o) $(FUZZ_SRC:%.c=build/fuzz/%.o)

all: $(BINS)

deps:
	@sh .ci/deps

# Rebuild everything when the flags change (for example SANITIZE=1).
$(BUILD)/flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(PKG_LIBS)' | cmp -s - $@ \
		|| echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(PKG_LIBS)' > $@
FORCE:

# bin/ holds one build at a time: relink when switching SANITIZE.
bin/.build: FORCE
	@mkdir -p bin
	@echo '$(BUILD)' | cmp -s - $@ || echo '$(BUILD)' > $@

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCYBIL): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

define prog_rule
bin/$(call progname,$(1)): $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c)) $(LIBCYBIL) bin/.build
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o %.a,$$^) $$(PKG_LIBS) \
		$$(if $$(filter review,$(1)),$$(CONSOLE_LIBS))
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))
$(BUILD)/review/%.o: ALL_CFLAGS += $(CONSOLE_CFLAGS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBCYBIL)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) \
		$$($(PKG_CONFIG) --libs cmocka)

build/fuzz/tests/fuzz_%: build/fuzz/tests/fuzz/fuzz_%.o $(LIBCYBIL)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

# The parsers' target links parse/'s objects, and sees its private header.
FUZZ_PARSE_OBJ = $(patsubst %.c,build/fuzz/%.o,\
	$(filter-out parse/main.c,$(wildcard parse/*.c)))
build/fuzz/tests/fuzz_parse: build/fuzz/tests/fuzz/fuzz_parse.o \
	$(FUZZ_PARSE_OBJ) $(LIBCYBIL)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)
build/fuzz/tests/fuzz/fuzz_parse.o: ALL_CFLAGS += -Iparse

fuzz-bins: $(FUZZ_BINS)

# Each libFuzzer target for FUZZ_SECONDS, seeded from tests/fuzz and
# ../shared/corpus; a crash is saved in build/fuzz/crashes/.
fuzz: deps
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-bins
	@sh tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_BINS)

check: deps
	@$(MAKE) --no-print-directory all unit-bins
	@sh tests/run $(UNIT_BINS) tests/e2e/*.t

unit-bins: $(UNIT_BINS)

unit: deps
	@$(MAKE) --no-print-directory unit-bins
	@sh tests/run $(UNIT_BINS)

e2e: deps
	@$(MAKE) --no-print-directory all
	@sh tests/run tests/e2e/*.t

demo: deps
	@$(MAKE) --no-print-directory all
	@sh config/demo.sh

# Faults at full size (issue 7): each stage SIGKILLed at TORTURE_KILLS
# random moments, the full disk and read-only store cases, and a hostile
# web of 10,000 sources. make check runs the same tests smaller.
TORTURE_KILLS = 50
torture: deps
	@$(MAKE) --no-print-directory all
	@KILLS=$(TORTURE_KILLS) sh tests/run tests/e2e/kill.t tests/e2e/faults.t
	@sh tests/torture/hostile.sh

bench:
	@sh .ci/deps --bench
	@$(MAKE) --no-print-directory all
	@bash tests/bench/fetch.sh
	@bash tests/bench/parse.sh
	@bash tests/bench/publish.sh
	@bash tests/bench/run.sh
	@bash tests/bench/report.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANPREFIX)/man1 \
		$(DESTDIR)$(MANPREFIX)/man5
	cp -f $(BINS) $(DESTDIR)$(BINDIR)/
	cd $(DESTDIR)$(BINDIR) && chmod 755 $(notdir $(BINS))
	for m in $(MANPAGES); do \
		s=$${m##*.}; \
		cp -f $$m $(DESTDIR)$(MANPREFIX)/man$$s/ && \
		chmod 644 $(DESTDIR)$(MANPREFIX)/man$$s/$${m##*/}; \
	done

uninstall:
	cd $(DESTDIR)$(BINDIR) && rm -f $(notdir $(BINS))
	for m in $(MANPAGES); do \
		rm -f $(DESTDIR)$(MANPREFIX)/man$${m##*.}/$${m##*/}; \
	done

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(UNIT_BINS:%=%.d)
-include $(foreach p,$(PROGS),$(patsubst %.c,$(BUILD)/%.d,$(wildcard $(p)/*.c)))
