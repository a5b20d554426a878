# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# slimvsr: one short Makefile.
#   make              -> build/slimvsr, build/libslimvsr.a, build/libslimvsr.so (the public API of
#                        include/slimvsr.h; only slimvsr_* symbols exported), build/slimvsr.1 (man page),
#                        build/examples/*
#   make install PREFIX=/usr/local DESTDIR=  -> bin/slimvsr, lib/ (libraries, pkgconfig/slimvsr.pc for PREFIX),
#                        include/slimvsr.h, share/slimvsr/models, share/man/man1/slimvsr.1, the Python
#                        binding in lib/python3/dist-packages/slimvsr (python/); make uninstall
#   make test         -> builds and runs every test (tests/run.sh prints "N passed, N failed")
#   make SAN=1 test   -> the same under AddressSanitizer + UndefinedBehaviorSanitizer (with float-cast-overflow,
#                        which `undefined` leaves out), in build-san/
#   make MPI=1        -> the same built with mpicc in build-mpi/: `mpirun -np N build-mpi/slimvsr train ...` trains
#                        data-parallel (src/train/dist.h; Debian: libopenmpi-dev openmpi-bin)
#   make FUZZ=1 fuzz  -> libFuzzer targets (clang, ASan + UBSan) in build-fuzz/fuzz/: tests/fuzz/run.sh
#   make bench        -> build/bench/conv_bench, ... (every bench/*.c; `make tests` builds them too, so they
#                        cannot rot); bench/README.md says how to run them and bench/run.sh
# CFLAGS set on the command line (make CFLAGS="-O0 -g") replace only the default -O2 -g: the flags
# below are always added (override).
# Format strings are checked hard (-Wformat=2, errors for non-literal formats): a path is never a format.
# -Wshadow: a name never hides another; the tree builds without a warning.
# Debian packages it needs: tools/install-deps.sh

CC      ?= cc
ARCH    ?= -march=x86-64-v3
PKGS    := libavformat libavcodec libswscale libavutil libpng libjpeg libcjson zlib
CFLAGS  ?= -O2 -g
# -fPIC and hidden visibility: the same objects make the static and the shared library, which exports only
# what include/slimvsr.h marks SLIMVSR_API (SLIMVSR_BUILD)
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -fopenmp $(ARCH) -Isrc -Iinclude \
           -fPIC -fvisibility=hidden -DSLIMVSR_BUILD \
           -Wformat=2 -Werror=format-security -Werror=format-nonliteral -Wshadow \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -ldnnl -lm -fopenmp

ifeq ($(FUZZ),1)
CC      := clang
BUILD   ?= build-fuzz
override CFLAGS += -fsanitize=fuzzer-no-link,address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow -fno-omit-frame-pointer
LDLIBS  += -fsanitize=address,undefined,float-cast-overflow
endif

ifeq ($(MPI),1)
CC      := mpicc
BUILD   ?= build-mpi
override CFLAGS += -DSV_MPI
endif

ifeq ($(SAN),1)
BUILD   ?= build-san
override CFLAGS += -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow -fno-omit-frame-pointer
LDLIBS  += -fsanitize=address,undefined,float-cast-overflow
else
BUILD   ?= build
endif

# The version, stated once in the public header; the SONAME carries its major number.
VERSION  := $(shell sed -n 's/^\#define SLIMVSR_VERSION_STRING "\(.*\)"/\1/p' include/slimvsr.h)
SOMAJOR  := $(firstword $(subst ., ,$(VERSION)))
SONAME   := libslimvsr.so.$(SOMAJOR)

LIB_SRC  := $(sort $(wildcard src/core/*.c src/ops/*.c src/model/*.c src/io/*.c src/pipeline/*.c src/train/*.c src/prune/*.c src/api/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOLS    := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SRC := $(filter-out tests/fuzz/fuzz_util.c,$(FUZZ_SRC))
# each target twice: under driver.c's main (replays files; part of `make tests`) and under libFuzzer
REPLAY   := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)
FUZZERS  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
BENCH    := $(patsubst bench/%.c,$(BUILD)/bench/%,$(sort $(wildcard bench/*.c)))

all: $(BUILD)/slimvsr $(BUILD)/libslimvsr.a $(BUILD)/libslimvsr.so $(BUILD)/slimvsr.1 \
     $(BUILD)/examples/upscale_frames

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libslimvsr.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libslimvsr.so.$(VERSION): $(LIB_OBJ) src/api/exports.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined -Wl,--version-script=src/api/exports.map \
	    -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/libslimvsr.so: $(BUILD)/libslimvsr.so.$(VERSION)
	ln -sf libslimvsr.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(BUILD)/slimvsr: $(CLI_OBJ) $(BUILD)/libslimvsr.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# the examples link the static library, as an application would link the shared one (check_install.sh)
$(BUILD)/examples/%: examples/%.c include/slimvsr.h $(BUILD)/libslimvsr.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libslimvsr.a $(LDLIBS)

$(BUILD)/slimvsr.1: $(BUILD)/slimvsr tools/make-man.sh
	tools/make-man.sh $(BUILD)/slimvsr > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -MMD -MP -c $< -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/obj/tests/testutil.o $(BUILD)/libslimvsr.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/tools/%.o $(BUILD)/libslimvsr.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/fuzz_util.o $(BUILD)/obj/tests/fuzz/driver.o $(BUILD)/libslimvsr.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/fuzz_util.o $(BUILD)/libslimvsr.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libslimvsr.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

tests: $(TESTS) $(TOOLS) $(REPLAY) $(BENCH)

bench: $(BENCH)

fuzz: $(FUZZERS)

test: all tests
	BUILD=$(BUILD) tests/run.sh

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(DESTDIR)$(PREFIX)/bin
LIBDIR  := $(DESTDIR)$(PREFIX)/lib
INCDIR  := $(DESTDIR)$(PREFIX)/include
MODELDIR := $(DESTDIR)$(PREFIX)/share/slimvsr/models
MANDIR  := $(DESTDIR)$(PREFIX)/share/man/man1
PYDIR   := $(DESTDIR)$(PREFIX)/lib/python3/dist-packages/slimvsr
MODELS  := $(notdir $(wildcard models/*.safetensors))

# The CLI finds the shipped models in ../share/slimvsr/models beside its binary (src/cli/models.c).
install: all
	install -d $(BINDIR) $(LIBDIR)/pkgconfig $(INCDIR) $(MODELDIR) $(MANDIR) $(PYDIR)
	install -m 755 $(BUILD)/slimvsr $(BINDIR)/slimvsr
	install -m 644 $(BUILD)/libslimvsr.a $(LIBDIR)/libslimvsr.a
	install -m 755 $(BUILD)/libslimvsr.so.$(VERSION) $(LIBDIR)/libslimvsr.so.$(VERSION)
	ln -sf libslimvsr.so.$(VERSION) $(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR)/libslimvsr.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@PKGS@|$(PKGS)|' slimvsr.pc.in \
	    > $(LIBDIR)/pkgconfig/slimvsr.pc
	install -m 644 include/slimvsr.h $(INCDIR)/slimvsr.h
	install -m 644 $(addprefix models/,$(MODELS)) $(MODELDIR)/
	install -m 644 $(BUILD)/slimvsr.1 $(MANDIR)/slimvsr.1
	install -m 644 python/slimvsr/__init__.py $(PYDIR)/__init__.py

# Removes what install wrote, and the folders that only slimvsr uses.
uninstall:
	rm -f $(BINDIR)/slimvsr $(LIBDIR)/libslimvsr.a $(LIBDIR)/libslimvsr.so.$(VERSION) $(LIBDIR)/$(SONAME) \
	      $(LIBDIR)/libslimvsr.so $(LIBDIR)/pkgconfig/slimvsr.pc $(INCDIR)/slimvsr.h $(MANDIR)/slimvsr.1 \
	      $(addprefix $(MODELDIR)/,$(MODELS)) $(PYDIR)/__init__.py
	rm -rf $(PYDIR)/__pycache__
	-rmdir $(MODELDIR) $(DESTDIR)$(PREFIX)/share/slimvsr $(PYDIR)

clean:
	rm -rf build build-san build-fuzz build-mpi

.PHONY: all test tests fuzz bench clean install uninstall
.SECONDARY:
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
