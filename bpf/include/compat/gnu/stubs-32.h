/*
 * Empty on purpose. Under -target bpf, glibc's <gnu/stubs.h> sees no __x86_64__ and asks for
 * the 32-bit stubs, which Debian ships only in libc6-dev-i386. Ordinary uapi headers reach it
 * (<linux/icmp.h> -> <linux/if.h> -> <sys/socket.h>); the stubs only list unimplemented libc
 * functions, which a BPF program never calls, so an empty file is exact. rules.mk puts this
 * directory last on the include path (-idirafter): a real stubs-32.h, where installed, wins.
 */
