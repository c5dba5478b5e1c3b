# Shared rules for building BPF objects: build/NAME.o from every NAME.c in the directory that
# includes this file (NAME.bpf.c gives build/NAME.bpf.o). xdpspec's own Makefiles and the
# Makefile `xdpspec init` writes both include it; set these before the include to change them:
#   SRCS          the sources (default: every *.c here)
#   INCLUDES      extra -I options (xdpspec's helpers in include/ beside this file are always on the path)
#   EXTRA_CFLAGS  anything else for clang (-DDEBUG, -Wno-..., -I for a vendored libbpf)
#   WERROR        -Werror by default; `WERROR :=` turns warnings back into warnings, for code
#                 you did not write
# -g keeps BTF, which xdpspec needs to encode map keys and values by field name; -mcpu=v3
# gives atomics that return the old value (__sync_fetch_and_add used for its result).
XDPSPEC_BPF := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CLANG   ?= clang
ARCH    := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
TRIPLET := $(shell gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
WERROR  ?= -Werror
SRCS    ?= $(wildcard *.c)
HEADERS ?= $(wildcard $(XDPSPEC_BPF)/include/*.h)
# /usr/include/TRIPLET holds asm/types.h for the uapi headers; compat/ answers glibc's
# gnu/stubs-32.h (see the file there).
CFLAGS  := -O2 -g -Wall $(WERROR) -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
           $(INCLUDES) -I $(XDPSPEC_BPF)/include -I /usr/include/$(TRIPLET) \
           -idirafter $(XDPSPEC_BPF)/include/compat $(EXTRA_CFLAGS)

OBJS := $(patsubst %.c,build/%.o,$(SRCS))

all: $(OBJS)

# CO-RE programs include vmlinux.h, every type of the kernel, which no package ships: where a
# source includes it and no vmlinux.h lies beside the sources, build/vmlinux.h is made from the
# running kernel's BTF (the types CO-RE relocates against at load, so any recent kernel's do).
VMLINUX_USERS := $(if $(wildcard vmlinux.h),,$(shell grep -l '^\s*\#\s*include\s*[<"]vmlinux\.h[>"]' $(SRCS) 2>/dev/null))
ifneq ($(VMLINUX_USERS),)
CFLAGS += -I build
$(patsubst %.c,build/%.o,$(VMLINUX_USERS)): build/vmlinux.h
build/vmlinux.h: | build
	@test -r /sys/kernel/btf/vmlinux || { echo "vmlinux.h: this kernel has no BTF (/sys/kernel/btf/vmlinux) to make it from; put a vmlinux.h beside the sources" >&2; exit 1; }
	@command -v bpftool >/dev/null || { echo "vmlinux.h: making it needs bpftool (Debian: apt-get install bpftool)" >&2; exit 1; }
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@
endif

build/%.o: %.c $(HEADERS) | build
	$(CLANG) $(CFLAGS) -c $< -o $@

build:
	mkdir -p build

clean:
	rm -rf build

.PHONY: all clean
