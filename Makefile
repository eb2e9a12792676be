# albert.c — one library (build/libalbert.a), one binary (build/albertc),
# one Criterion test binary (build/test_albert), libFuzzer targets (build/fuzz/*).
#
#   make            build albertc
#   make test       build and run the whole test suite (the README's test command)
#   make test SAN=1 the same suite under AddressSanitizer + UBSan (build-san/)
#   make PORTABLE=1 a build for any x86-64-v2 machine (build-portable/), not only this one
#   make fuzz       build the libFuzzer targets (clang) and run each briefly
#   make goldens    regenerate the golden files with the PyTorch reference (tools/)
#   make bench      speed benchmarks (not tests)
#   make demo       the Banking77 experiment (configs/banking77.yaml)

CC      ?= cc
PYTHON  ?= /usr/bin/python3
# ompi-c: Open MPI, always linked; a process not started by mpirun/srun never
# initialises it (src/util/dist.h), so `albertc` alone is unchanged.
PKGS    := openblas jansson yaml-0.1 libutf8proc libxxhash libmicrohttpd ompi-c sleef
SAN     ?= 0
PORTABLE ?= 0

# -march=native makes code for the building machine's CPU only (it may not run
# on an older one). PORTABLE=1 targets x86-64-v2 (SSE4.2, 2009 on): OpenBLAS
# picks its kernel at run time, and the hot loops of the head and AdamW carry
# an x86-64-v3 (AVX2, FMA) clone chosen at run time (src/util/clones.h).
ifeq ($(SAN),1)
BUILD   := build-san
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(PORTABLE),1)
BUILD   := build-portable
OPT     := -O3 -march=x86-64-v2 -mtune=generic -g -DALB_PORTABLE
else
BUILD   := build
OPT     := -O3 -march=native -g
endif

# -ffp-contract=off: a*b + c stays a rounded product and a rounded sum, never a
# fused multiply-add. GCC in -std=c11 mode implies it, clang (the fuzz builds)
# does not; contraction would make results depend on the compiler and on the
# ISA (FMA or not), and the head's training results must be the same bits
# everywhere. Explicit fmaf() calls (where torch's kernels fuse) stay fused.
FP      := -ffp-contract=off
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(OPT) $(FP) -Isrc -fopenmp -fno-math-errno \
           $(shell pkg-config --cflags $(PKGS))
# oneDNN (libdnnl-dev, no pkg-config file): the encoder's matrix products (src/model/matmul.c).
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -ldnnl -lm -fopenmp
LDFLAGS += $(filter -fsanitize=%,$(OPT))

LIB_SRC  := $(sort $(wildcard src/util/*.c src/io/*.c src/model/*.c src/tokenizer/*.c \
                             src/data/*.c src/pipeline/*.c src/train/*.c src/report/*.c \
                             src/serve/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
DEPS     := $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

.PHONY: all test fuzz goldens bench demo clean
all: $(BUILD)/albertc

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The run report embeds these with .incbin (src/report/run_report.c), which -MMD does not see.
REPORT_ASSETS := src/report/report_template.html third_party/chart.js/chart.umd.min.js \
                 third_party/chartjs-chart-matrix/chartjs-chart-matrix.min.js
$(BUILD)/src/report/run_report.o: $(REPORT_ASSETS)

$(BUILD)/libalbert.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/albertc: $(CLI_OBJ) $(BUILD)/libalbert.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/test_albert: $(TEST_OBJ) $(BUILD)/libalbert.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcriterion $(shell pkg-config --libs libcurl) -o $@

# Tests run from the repository root; they read ../shared in place and call
# build*/albertc for the CLI tests (ALBERTC says which build).
export LSAN_OPTIONS = suppressions=$(CURDIR)/tests/lsan.supp
# Tests run two at a time on two cores: OpenMP threads that spin while waiting
# would steal the other test's core (5-10x slower); passive waits cost ~3% alone.
test: export OMP_WAIT_POLICY = passive
test: $(BUILD)/albertc $(BUILD)/test_albert
	sh tools/check_layers.sh
	ALBERTC=$(BUILD)/albertc $(BUILD)/test_albert -j2
	ALBERTC=$(BUILD)/albertc PYTHON=$(PYTHON) sh tests/oracle/run.sh

FUZZ_CC  ?= clang
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
build/fuzz/%: fuzz/%.c $(LIB_SRC) $(REPORT_ASSETS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 $(FP) -Isrc -fopenmp=libgomp -fsanitize=fuzzer,address,undefined \
	    $(shell pkg-config --cflags $(PKGS)) $< $(LIB_SRC) $(shell pkg-config --libs $(PKGS)) -ldnnl -lm -lgomp -o $@
FUZZ_SECONDS ?= 20
fuzz: $(FUZZ_BIN)
	sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

goldens:
	$(PYTHON) tools/make_goldens.py

bench: build/albertc
	sh bench/run.sh

demo: build/albertc
	build/albertc train --config configs/banking77.yaml

clean:
	rm -rf build build-san build-portable

-include $(DEPS)
