# darknet-gradcam: builds ./darknet (every stock Darknet command plus `gradcam`)
# from Darknet's source, patched at build time from darknet_patch/.
#
#   make deps      install the build and test dependencies (Debian packages)
#   make           fetch + patch Darknet, build ./darknet
#   make test      run the Check test suites (builds stock Darknet too: one suite
#                  checks that our patched forward equals stock Darknet's), then
#                  replay the fuzz harnesses' seeds through a plain build of them
#   make bench     time stock Darknet, our forward and gradcam on yolov3-tiny,
#                  yolov3, darknet19 and resnet50 (random weights) against the
#                  pure-GEMM bound, then `gradcam` end to end against `detector
#                  test` / `classifier predict` on the real models (MODELS),
#                  and the forward's GEMMs with 1, 4 and 8 images per product
#                  (what -batch N could save), the thread pool's tuning (fixed threshold
#                  against tuned), then scripts/bench-list.sh; prints the tables
#                  (about 15 minutes on 2 cores: README, Set-up)
#   make demo      explain held-out scenes with the shipped demo models (see README.md)
#   make train-demo  retrain the demo models (cfg/fmnist-*.weights) with Darknet
#   make heldout   train the two held-out detectors (cfg/heldout-*.cfg) and measure the
#                  detector default rule on them (README; about 45 minutes on 2 cores)
#   make clean     remove what was compiled (keeps the fetched Darknet source)
#   make distclean remove build/ entirely, the cached source package included
#   make asan      build and test with AddressSanitizer/UBSan (build-asan/darknet-asan; ./darknet is left alone)
#   make fuzz      build the libFuzzer harnesses in fuzz/ with clang (ASan+UBSan) and run each for
#                  FUZZ_TIME seconds (default 60); needs clang with libFuzzer (Debian: apt-get
#                  install clang libclang-rt-dev: clang alone only recommends the latter)
#
# Switches (override on the command line, e.g. `make DARKNET_SRC=~/darknet`):
DARKNET_SRC     ?=
DARKNET_VERSION ?= 0.0.0+git20180914.61c9d02e
BUILD           ?= build
OPT             ?= -O2
SANITIZE        ?=
BIN             ?= darknet

DN        := $(BUILD)/darknet
DN_STAMP  := $(DN)/.gradcam-patched
DN_LIB    := $(DN)/libdarknet.a
# Darknet's own example programs, linked into ./darknet exactly as its Makefile does.
DN_EXEC   := captcha lsd super art tag cifar go rnn segmenter regressor classifier \
             coco yolo detector nightmare instance-segmenter darknet
DN_EXECOBJ := $(addprefix $(DN)/obj/,$(addsuffix .o,$(DN_EXEC)))
PATCHES   := $(sort $(wildcard darknet_patch/*.patch))
# Stock Darknet: the same source with none of our patches, built the same way;
# the reference for the equality test and `make bench`, fetched only for those.
STOCK       := $(BUILD)/darknet-stock
STOCK_STAMP := $(STOCK)/.gradcam-fetched
STOCK_LIB   := $(STOCK)/libdarknet.a
STOCK_FWD   := $(BUILD)/stock/gc_stock_forward
BENCH       := $(BUILD)/bench/gc_bench
BENCH_STOCK := $(BUILD)/bench/gc_bench_stock

# Our code: strict warnings, no fast-math (it would remove our NaN/Inf checks).
WARN     := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
CFLAGS   ?=
ALL_CFLAGS := -std=gnu99 $(OPT) -g $(WARN) $(SANITIZE) -MMD -MP \
            -isystem $(DN)/include -isystem $(DN)/src -Isrc -I/usr/include/stb $(CFLAGS)
LDLIBS   := -lopenblas -lz -lm -pthread
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm -pthread)

SRC      := $(wildcard src/*.c)
FUZZ_NAMES := cfg weights image lists cli
REPLAY_DIR  := $(BUILD)/replay
REPLAY_BINS := $(addprefix $(REPLAY_DIR)/replay_,$(FUZZ_NAMES))
OBJ      := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC))
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(patsubst tests/%.c,$(BUILD)/tests/%.o,$(TEST_SRC))

.PHONY: all deps darknet-src darknet-src-again test demo train-demo heldout asan fuzz fuzz-build clean distclean bench test-cluster bench-list FORCE
all: $(BIN)

# ---- Darknet source: Debian's source package, or the user's own checkout ----
# What the copies are made from: DARKNET_SRC, DARKNET_VERSION and the patches'
# names, rewritten only when they change, so that another source or a patch
# removed fetches again (a patch edited is newer than the stamp). Edits inside
# a DARKNET_SRC checkout are not seen: `make darknet-src-again` copies it anew.
# The rule runs only when the file's words differ from these (a rule that
# always ran made `make -n` show a fetch every time).
DN_CONFIG := $(BUILD)/darknet-source.txt
DN_CONFIG_WORDS := DARKNET_SRC=$(DARKNET_SRC) DARKNET_VERSION=$(DARKNET_VERSION) $(PATCHES)
ifneq ($(strip $(shell cat $(DN_CONFIG) 2>/dev/null)),$(strip $(DN_CONFIG_WORDS)))
$(DN_CONFIG): FORCE
endif
$(DN_CONFIG):
	@mkdir -p $(BUILD)
	@printf '%s\n' "DARKNET_SRC=$(DARKNET_SRC)" "DARKNET_VERSION=$(DARKNET_VERSION)" $(PATCHES) >$@

$(DN_STAMP): $(PATCHES) scripts/fetch-darknet.sh $(DN_CONFIG)
	@sh scripts/fetch-darknet.sh "$(DN)" "$(DARKNET_VERSION)" "$(DARKNET_SRC)" $(PATCHES)
	@touch $@

FORCE:

darknet-src-again:
	rm -f $(DN_STAMP) $(STOCK_STAMP)
	$(MAKE) $(BIN)

darknet-src: $(DN_STAMP)

# Darknet's library and example objects, built by Darknet's own Makefile with its
# own flags, so every stock command behaves exactly as upstream's.
$(DN_LIB): $(DN_STAMP) Makefile
	$(MAKE) -C $(DN) obj libdarknet.a $(addprefix obj/,$(addsuffix .o,$(DN_EXEC))) \
	    GPU=0 CUDNN=0 OPENCV=0 OPENMP=0
	@touch $@

$(DN_EXECOBJ): $(DN_LIB)

# Order-only on the patched copy: the first fetch downloads the package, the
# second reuses the cache (no two downloads at once under make -j).
$(STOCK_STAMP): scripts/fetch-darknet.sh $(DN_CONFIG) | $(DN_STAMP)
	@sh scripts/fetch-darknet.sh "$(STOCK)" "$(DARKNET_VERSION)" "$(DARKNET_SRC)"
	@touch $@

$(STOCK_LIB): $(STOCK_STAMP) Makefile
	$(MAKE) -C $(STOCK) obj libdarknet.a GPU=0 CUDNN=0 OPENCV=0 OPENMP=0
	@touch $@

# Programs linked against stock Darknet: plain flags, no sanitizer (the stock
# library is not instrumented); only Darknet's own API and our model, cfg, image and
# layer-name helpers.
STOCK_CFLAGS := -std=gnu99 $(OPT) -g $(WARN) -MMD -MP -isystem $(STOCK)/include -isystem $(STOCK)/src -Isrc -I/usr/include/stb $(CFLAGS)

$(BUILD)/stock/%.o: bench/%.c $(STOCK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(STOCK_CFLAGS) -c $< -o $@

$(BUILD)/stock/src_%.o: src/%.c $(STOCK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(STOCK_CFLAGS) -c $< -o $@

$(STOCK_FWD): $(BUILD)/stock/gc_stock_forward.o $(STOCK_LIB)
	$(CC) $^ $(LDLIBS) -o $@

# The bench, twice: against stock Darknet (its forward only), and against the
# patched library with our objects (everything else).
$(BENCH_STOCK): $(BUILD)/stock/gc_bench_stock.o $(BUILD)/stock/src_gc_model.o $(BUILD)/stock/src_gc_common.o \
                $(BUILD)/stock/src_gc_cfgcheck.o $(BUILD)/stock/src_gc_image.o $(BUILD)/stock/src_gc_png.o \
                $(BUILD)/stock/src_gc_pngread.o $(BUILD)/stock/src_gc_dnimage.o \
                $(BUILD)/stock/src_gc_darknet.o $(BUILD)/stock/src_gc_interrupt.o $(STOCK_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDLIBS) -o $@

$(BUILD)/stock/gc_bench_stock.o: bench/gc_bench.c $(STOCK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(STOCK_CFLAGS) -DGC_BENCH_STOCK -c $< -o $@

$(BUILD)/bench/gc_bench.o: bench/gc_bench.c $(DN_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BENCH): $(BUILD)/bench/gc_bench.o $(OBJ) $(DN_LIB)
	$(CC) $(SANITIZE) $^ $(LDLIBS) -o $@

$(BUILD)/obj/%.o: src/%.c $(DN_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c $(DN_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) -c $< -o $@

$(BIN): $(DN_EXECOBJ) $(OBJ) $(DN_LIB)
	$(CC) $(SANITIZE) $(DN_EXECOBJ) $(OBJ) $(DN_LIB) $(LDLIBS) -o $@

# --wrap: the tests count heap allocations (gct_allocs in tests/gc_testutil.c).
$(BUILD)/check_gradcam: $(TEST_OBJ) $(OBJ) $(DN_LIB)
	$(CC) $(SANITIZE) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free $(TEST_OBJ) $(OBJ) $(DN_LIB) $(LDLIBS) $(CHECK_LIBS) -o $@

# The test runner needs ./darknet too: end-to-end tests run the real binary;
# and stock Darknet's forward for the equality suite.
# The bench's two programs are built here too (not run): a change that breaks
# their link fails the tests, not a later `make bench`.
# The fuzz harnesses are built with the project's compiler too (fuzz/replay.c
# as their main) and replay their seeds: a harness that no longer builds
# against src/ fails here, not in a later `make fuzz`.
test: $(BIN) $(BUILD)/check_gradcam $(STOCK_FWD) $(BENCH) $(BENCH_STOCK) $(REPLAY_BINS)
	GC_DARKNET_DIR=$(DN) GC_DARKNET_BIN=$(BIN) GC_STOCK_FORWARD=$(STOCK_FWD) $(BUILD)/check_gradcam
	@sh scripts/fuzz-replay.sh $(REPLAY_DIR) $(FUZZ_NAMES)

.PRECIOUS: $(REPLAY_DIR)/obj/%.o

$(REPLAY_DIR)/obj/%.o: fuzz/%.c $(DN_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ifuzz -Werror=implicit-function-declaration -c $< -o $@

$(REPLAY_DIR)/replay_%: $(REPLAY_DIR)/obj/fuzz_%.o $(REPLAY_DIR)/obj/gc_fuzz.o $(REPLAY_DIR)/obj/replay.o $(OBJ) $(DN_LIB)
	$(CC) $(SANITIZE) $^ $(LDLIBS) -o $@

# End to end (./darknet gradcam vs detector test / classifier predict) on the
# real models in ../shared/models; skipped when they are absent.
MODELS ?= ../shared/models
bench: $(BENCH) $(BENCH_STOCK) $(BIN)
	$(BENCH) -stock $(BENCH_STOCK) -cfgdir $(DN)/cfg -image $(DN)/data/dog.jpg -darknet $(BIN) -models $(MODELS) \
	    -batching cfg/fmnist-det.cfg:128:128,$(MODELS)/yolo-fastest/yolo-fastest-1.1.cfg:320:320,$(DN)/cfg/yolov3-tiny.cfg:416:416,$(DN)/cfg/darknet19.cfg:256:256,$(MODELS)/tiny-darknet/tiny.cfg:224:224 \
	    -tuning cfg/fmnist-det.cfg:128:128,cfg/fmnist-cls.cfg:96:96,$(MODELS)/yolo-fastest/yolo-fastest-1.1.cfg:320:320,$(MODELS)/tiny-darknet/tiny.cfg:224:224,$(DN)/cfg/yolov3-tiny.cfg:416:416
	sh scripts/bench-list.sh

# -list sharded under GNU parallel and a local single-node Slurm cluster (root;
# each skips with a message when its packages are missing), see README.
test-cluster: $(BIN)
	sh tests/parallel.sh
	sh tests/slurm.sh

# images/s of -list against a loop of the main command (README, Many images);
# also the last part of make bench
bench-list: $(BIN)
	sh scripts/bench-list.sh

# Darknet's parser leaks by design (free_network frees little): tests/lsan.supp
# names those allocation sites, so LeakSanitizer reports only ours.
# A sanitizer report fails the run: UBSan stops at its first report
# (-fno-sanitize-recover), every sanitizer death exits with status 66 (which no
# test expects), and ASan/LSan reports are also written to build-asan/san/
# (reports from processes whose status no test reads, such as a -list
# worker): any report there fails `make asan` after the suites, printed.
# allocator_may_return_null: a huge allocation fails as with glibc (the
# plugin's checks and Darknet's crashes stay what the tests expect).
# Check's timeouts are multiplied by ASAN_TIMEOUTS (the build is slower).
# CK_MAX_MSG_SIZE: Check's runner reads a test's messages (one per passing
# assertion) with a memmove of twice this size each, and ASan's memmove is a
# byte loop: at check_main's 256 KiB the render suite took over 6 minutes
# instead of 45 s (a longer failure message fails its test all the same).
ASAN_BUILD    := $(BUILD)-asan
ASAN_LOGS     := $(CURDIR)/$(ASAN_BUILD)/san
ASAN_TIMEOUTS ?= 5
SAN_ENV := ASAN_OPTIONS=exitcode=66:log_path=$(ASAN_LOGS)/asan:allocator_may_return_null=1:detect_leaks=1 \
           UBSAN_OPTIONS=exitcode=66:print_stacktrace=1:halt_on_error=1 \
           LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0:exitcode=66 \
           CK_TIMEOUT_MULTIPLIER=$(ASAN_TIMEOUTS) CK_MAX_MSG_SIZE=8192 GC_TEST_LOG=$(CURDIR)/$(ASAN_BUILD)/check_gradcam.log
asan:
	@rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	@# Debian's darknet source package, from the plain build's cache when it has one
	@if [ -d $(BUILD)/darknet-srcpkg ] && [ ! -d $(ASAN_BUILD)/darknet-srcpkg ]; then \
	    cp -r $(BUILD)/darknet-srcpkg $(ASAN_BUILD)/; fi
	@$(SAN_ENV) $(MAKE) BUILD=$(ASAN_BUILD) BIN=$(ASAN_BUILD)/darknet-asan OPT=-O1 \
	    SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	    DARKNET_SRC="$(DARKNET_SRC)" test; rc=$$?; \
	reports=$$(grep -l -E 'ERROR: |runtime error' $(ASAN_LOGS)/* 2>/dev/null); \
	if [ -n "$$reports" ]; then \
	    echo "make asan: sanitizer reports in $(ASAN_BUILD)/san:"; cat $$reports; exit 1; fi; \
	exit $$rc

# ---- fuzzing (not part of `make test`): libFuzzer harnesses in fuzz/ ----------
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 60
FUZZ_DIR   := $(BUILD)/fuzz
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu99 -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Wall -Wextra -Wno-unused-parameter -MMD -MP \
            -isystem $(DN)/include -isystem $(DN)/src -Isrc -Ifuzz -I/usr/include/stb
FUZZ_OBJ   := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(SRC)) $(FUZZ_DIR)/obj/gc_fuzz.o
FUZZ_BINS  := $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_NAMES))

.PRECIOUS: $(FUZZ_DIR)/obj/%.o

$(FUZZ_DIR)/obj/%.o: src/%.c $(DN_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/%.o: fuzz/%.c $(DN_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/fuzz_%.o $(FUZZ_OBJ) $(DN_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

# clang without its runtime libraries (Debian's libclang-rt-dev, which clang
# only recommends) compiles the harnesses and fails at their link: try a link first.
fuzz-build:
	@printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' | \
	    $(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null >/dev/null 2>&1 || \
	    { echo "make fuzz needs $(FUZZ_CC) with libFuzzer: apt-get install clang libclang-rt-dev"; exit 1; }
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz: fuzz-build
	@sh scripts/fuzz.sh "$(FUZZ_DIR)" "$(FUZZ_TIME)" "$(DN)" $(FUZZ_NAMES)

deps:
	@sh scripts/deps.sh

demo: darknet
	@sh scripts/demo.sh

train-demo: darknet
	@sh scripts/train-demo.sh

heldout: darknet
	@sh scripts/heldout.sh

clean:
	rm -rf $(BUILD)/obj $(BUILD)/tests $(BUILD)/stock $(BUILD)/bench $(BUILD)/replay $(BUILD)/fuzz $(BUILD)/check_gradcam darknet
	@if [ -d $(DN) ]; then $(MAKE) -C $(DN) clean >/dev/null 2>&1 || true; fi
	@if [ -d $(STOCK) ]; then $(MAKE) -C $(STOCK) clean >/dev/null 2>&1 || true; fi

# everything built or fetched (the cached source package too: the next make
# downloads it again); out/, where the demo and -out's default write, is kept
distclean:
	rm -rf $(BUILD) $(BUILD)-asan darknet

-include $(OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(wildcard $(BUILD)/stock/*.d $(BUILD)/bench/*.d $(REPLAY_DIR)/obj/*.d $(FUZZ_DIR)/obj/*.d)
