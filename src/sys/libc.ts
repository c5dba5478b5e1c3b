// The little of libc xdpspec calls: sockets, ioctl, namespaces, mounts, mmap.
import { declare, declarePtr, loadLibrary, type CPointer } from './native.js';
import { processWide } from './process-wide.js';

function bind() {
  const c = loadLibrary('libc.so.6', 'libc6');
  return {
    if_nametoindex: declare<(name: string) => number>(c, 'uint32_t if_nametoindex(const char *name)'),
    setns: declare<(fd: number, nstype: number) => number>(c, 'int setns(int fd, int nstype)'),
    unshare: declare<(flags: number) => number>(c, 'int unshare(int flags)'),
    socket: declare<(domain: number, type: number, protocol: number) => number>(
      c,
      'int socket(int domain, int type, int protocol)',
    ),
    ioctl: declare<(fd: number, request: number, arg: CPointer) => number>(
      c,
      'int ioctl(int fd, unsigned long request, void *arg)',
    ),
    open: declare<(path: string, flags: number) => number>(c, 'int open(const char *path, int flags)'),
    close: declare<(fd: number) => number>(c, 'int close(int fd)'),
    umount2: declare<(target: string, flags: number) => number>(c, 'int umount2(const char *target, int flags)'),
    bind: declare<(fd: number, addr: CPointer, len: number) => number>(c, 'int bind(int fd, void *addr, uint32_t len)'),
    setsockopt: declare<(fd: number, level: number, name: number, value: CPointer, len: number) => number>(
      c,
      'int setsockopt(int fd, int level, int name, void *value, uint32_t len)',
    ),
    getsockopt: declare<(fd: number, level: number, name: number, value: CPointer, len: number[]) => number>(
      c,
      'int getsockopt(int fd, int level, int name, void *value, _Inout_ uint32_t *len)',
    ),
    send: declare<(fd: number, buf: CPointer, len: number, flags: number) => number | bigint>(
      c,
      'intptr_t send(int fd, void *buf, size_t len, int flags)',
    ),
    recv: declare<(fd: number, buf: CPointer, len: number, flags: number) => number | bigint>(
      c,
      'intptr_t recv(int fd, void *buf, size_t len, int flags)',
    ),
    recvmsg: declare<(fd: number, msg: CPointer, flags: number) => number | bigint>(
      c,
      'intptr_t recvmsg(int fd, void *msg, int flags)',
    ),
    sendmmsg: declare<(fd: number, msgvec: CPointer, vlen: number, flags: number) => number>(
      c,
      'int sendmmsg(int fd, void *msgvec, unsigned int vlen, int flags)',
    ),
    recvmmsg: declare<(fd: number, msgvec: CPointer, vlen: number, flags: number, timeout: CPointer) => number>(
      c,
      'int recvmmsg(int fd, void *msgvec, unsigned int vlen, int flags, void *timeout)',
    ),
    mmap: declarePtr<[addr: CPointer, len: number, prot: number, flags: number, fd: number, off: number]>(
      c,
      'void *mmap(void *addr, size_t len, int prot, int flags, int fd, intptr_t off)',
    ),
    munmap: declare<(addr: CPointer, len: number) => number>(c, 'int munmap(void *addr, size_t len)'),
    vsnprintf: declare<(buf: CPointer, size: number, fmt: string, args: unknown) => number>(
      c,
      'int vsnprintf(void *buf, size_t size, const char *fmt, void *args)',
    ),
  };
}

export type Libc = ReturnType<typeof bind>;
const binding = processWide('libc-binding', () => ({ bound: undefined as Libc | undefined }));

/** libc's functions, bound on first use (once per process: see process-wide.ts). */
export function libc(): Libc {
  binding.bound ??= bind();
  return binding.bound;
}

/** A shared read-write mapping of `fd` (a BPF array map's values), page-rounded. */
export interface Mapping {
  readonly address: bigint;
  /** Bytes mapped (whole pages). */
  readonly length: number;
}

/** The page size of x86_64 and of most arm64 kernels. */
export const PAGE = 4096;
const PROT_READ_WRITE = 3;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;

/** Maps `length` bytes of `fd` shared, read and write; undefined (errno set) when the kernel refuses. */
export function mapShared(fd: number, length: number): Mapping | undefined {
  const size = Math.ceil(length / PAGE) * PAGE;
  const address = libc().mmap(null, size, PROT_READ_WRITE, MAP_SHARED, fd, 0);
  return address === 0n || address === MAP_FAILED ? undefined : { address, length: size };
}

export function unmap(m: Mapping): void {
  libc().munmap(m.address, m.length);
}
