# Shared rules for building BPF objects: each Makefile sets INCLUDES and includes this.
# -g keeps BTF, which xdpspec needs to encode map keys and values by field name; -mcpu=v3
# gives atomics that return the old value (__sync_fetch_and_add used for its result).
CLANG   ?= clang
ARCH    := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
TRIPLET := $(shell gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
CFLAGS  := -O2 -g -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
           $(INCLUDES) -I /usr/include/$(TRIPLET)

OBJS := $(patsubst %.bpf.c,build/%.bpf.o,$(wildcard *.bpf.c))

all: $(OBJS)

build/%.bpf.o: %.bpf.c $(HEADERS) | build
	$(CLANG) $(CFLAGS) -c $< -o $@

build:
	mkdir -p build

clean:
	rm -rf build

.PHONY: all clean
