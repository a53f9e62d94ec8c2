# Thin wrappers around scripts/ and CMake. The README's two commands: `make run`, `make test`.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
DATA_DIR   ?= ./data
HTTP       ?= 127.0.0.1:8910
FUZZ_SECONDS ?= 20

PREFIX     ?= /usr/local

.PHONY: all setup build build-asan build-fuzz run test test-unit fuzz bench install clean

all: build

setup:
	@bash scripts/setup.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEVD_SANITIZE=ON -DEVD_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

build-fuzz:
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DEVD_FUZZ=ON -DEVD_BENCH=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Install what is missing, build, start eventd on loopback with its store in ./data.
run: setup build
	$(BUILD)/eventd --data-dir $(DATA_DIR) --http $(HTTP)

# Install what is missing, build normal + ASan/UBSan, run the whole suite on both,
# then a short run of every fuzz target.
test: setup
	@bash scripts/test.sh

test-unit: build
	cd $(BUILD) && ctest -L unit --output-on-failure -j $(JOBS)

fuzz: build-fuzz
	@bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: setup build
	@bash bench/run.sh

# Install eventd, eventctl, eventd-probe and libeventd (headers, libraries, eventd.pc) under
# PREFIX (default /usr/local); DESTDIR is honoured for staging.
install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
