# attnc: the two entry points of the README, plus their parts.
#   make demo   set up, build, and run the main job on the example specs
#   make check  set up, build, and run every test (lit, unit tests, a bounded fuzz run)
BUILD ?= build
JOBS ?= 2
FUZZ_SECONDS ?= 60

.PHONY: all setup build demo check check-lit check-unit fuzz clean

all: build

setup:
	BUILD=$(BUILD) ./scripts/setup.sh

build: setup
	BUILD=$(BUILD) JOBS=$(JOBS) ./scripts/build.sh

demo: build
	BUILD=$(BUILD) ./scripts/demo.sh

check: build
	BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/check.sh

check-lit:
	/usr/lib/llvm-22/bin/lit -sv $(BUILD)/test

check-unit:
	cd $(BUILD) && ctest --output-on-failure

fuzz:
	BUILD=$(BUILD) ./scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
