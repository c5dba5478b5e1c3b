// The only file that declares foreign functions: libbpf (the system's libbpf.so.1) and a
// little of libc. Everything else calls the typed wrappers in this folder. Pointers are
// BigInt addresses (koffi 3); 0n is NULL.
import koffi from 'koffi';
import { XdpspecError } from '../errors.js';

export type Ptr = bigint;

// One value per process however many copies of xdpspec are loaded: see sys/process-wide.ts.
export { processWide } from '../sys/process-wide.js';
import { processWide } from '../sys/process-wide.js';

function loadLibrary(name: string, pkg: string): ReturnType<typeof koffi.load> {
  try {
    return koffi.load(name);
  } catch (err) {
    throw new XdpspecError('LIBRARY_MISSING', `cannot load ${name}: ${(err as Error).message}; install the Debian package ${pkg} (npm test installs it)`, { cause: err });
  }
}

// `bpf_test_run_opts` of libbpf 1.1, laid out by koffi so offsets follow the C ABI.
export const { TestRunOpts, TcHook, TcOpts } = processWide('ffi-types', () => ({
  TestRunOpts: koffi.struct('bpf_test_run_opts', {
  sz: 'size_t',
  data_in: 'void *',
  data_out: 'void *',
  data_size_in: 'uint32_t',
  data_size_out: 'uint32_t',
  ctx_in: 'void *',
  ctx_out: 'void *',
  ctx_size_in: 'uint32_t',
  ctx_size_out: 'uint32_t',
  retval: 'uint32_t',
  repeat: 'int',
  duration: 'uint32_t',
  flags: 'uint32_t',
  cpu: 'uint32_t',
  batch_size: 'uint32_t',
  }),
  TcHook: koffi.struct('bpf_tc_hook', {
    sz: 'size_t',
    ifindex: 'int',
    attach_point: 'int',
    parent: 'uint32_t',
    _pad: 'uint32_t',
  }),
  TcOpts: koffi.struct('bpf_tc_opts', {
    sz: 'size_t',
    prog_fd: 'int',
    flags: 'uint32_t',
    prog_id: 'uint32_t',
    handle: 'uint32_t',
    priority: 'uint32_t',
    _pad: 'uint32_t',
  }),
}));

/** Declares a function returning a pointer, normalised to a bigint address (NULL is 0n). */
function ptrFn(lib: ReturnType<typeof koffi.load>, decl: string): (...args: unknown[]) => Ptr {
  const fn = lib.func(decl);
  return (...args: unknown[]) => {
    const r = fn(...args) as bigint | number | null;
    return r === null ? 0n : BigInt(r);
  };
}

function bind() {
  const lib = loadLibrary('libbpf.so.1', 'libbpf1');
  const libc = loadLibrary('libc.so.6', 'libc6');
  // libbpf's print callback gets a va_list; vsnprintf turns it into text on our side.
  const PrintFn = koffi.proto('int libbpf_print_fn(int level, const char *fmt, void *args)');
  return {
    PrintFn,
    libbpf_set_print: ptrFn(lib, 'void *libbpf_set_print(libbpf_print_fn *fn)'),
    vsnprintf: libc.func('int vsnprintf(void *buf, size_t size, const char *fmt, void *args)'),
    libbpf_num_possible_cpus: lib.func('int libbpf_num_possible_cpus()'),

    bpf_object__open_file: ptrFn(lib, 'void *bpf_object__open_file(const char *path, void *opts)'),
    bpf_object__load: lib.func('int bpf_object__load(void *obj)'),
    bpf_object__close: lib.func('void bpf_object__close(void *obj)'),
    bpf_object__btf: ptrFn(lib, 'void *bpf_object__btf(void *obj)'),
    btf__raw_data: ptrFn(lib, 'void *btf__raw_data(void *btf, _Out_ uint32_t *size)'),

    bpf_object__next_program: ptrFn(lib, 'void *bpf_object__next_program(void *obj, void *prog)'),
    bpf_program__name: lib.func('const char *bpf_program__name(void *prog)'),
    bpf_program__section_name: lib.func('const char *bpf_program__section_name(void *prog)'),
    bpf_program__type: lib.func('int bpf_program__type(void *prog)'),
    bpf_program__fd: lib.func('int bpf_program__fd(void *prog)'),
    bpf_program__insns: ptrFn(lib, 'void *bpf_program__insns(void *prog)'),
    bpf_program__insn_cnt: lib.func('size_t bpf_program__insn_cnt(void *prog)'),
    bpf_program__set_autoload: lib.func('int bpf_program__set_autoload(void *prog, bool autoload)'),
    bpf_program__set_type: lib.func('int bpf_program__set_type(void *prog, int type)'),
    bpf_program__attach_raw_tracepoint: ptrFn(lib, 'void *bpf_program__attach_raw_tracepoint(void *prog, const char *name)'),
    bpf_link__destroy: lib.func('int bpf_link__destroy(void *link)'),

    bpf_object__next_map: ptrFn(lib, 'void *bpf_object__next_map(void *obj, void *map)'),
    bpf_map__name: lib.func('const char *bpf_map__name(void *map)'),
    bpf_map__type: lib.func('int bpf_map__type(void *map)'),
    bpf_map__key_size: lib.func('uint32_t bpf_map__key_size(void *map)'),
    bpf_map__value_size: lib.func('uint32_t bpf_map__value_size(void *map)'),
    bpf_map__max_entries: lib.func('uint32_t bpf_map__max_entries(void *map)'),
    bpf_map__fd: lib.func('int bpf_map__fd(void *map)'),
    bpf_map__btf_key_type_id: lib.func('uint32_t bpf_map__btf_key_type_id(void *map)'),
    bpf_map__btf_value_type_id: lib.func('uint32_t bpf_map__btf_value_type_id(void *map)'),
    bpf_map__initial_value: ptrFn(lib, 'void *bpf_map__initial_value(void *map, _Out_ size_t *size)'),
    bpf_map__set_initial_value: lib.func('int bpf_map__set_initial_value(void *map, void *data, size_t size)'),
    bpf_map__pin_path: lib.func('const char *bpf_map__pin_path(void *map)'),
    bpf_map__reuse_fd: lib.func('int bpf_map__reuse_fd(void *map, int fd)'),
    bpf_map__set_pin_path: lib.func('int bpf_map__set_pin_path(void *map, const char *path)'),

    bpf_map_create: lib.func('int bpf_map_create(int type, const char *name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, void *opts)'),
    bpf_map_get_fd_by_id: lib.func('int bpf_map_get_fd_by_id(uint32_t id)'),
    bpf_map_update_batch: lib.func('int bpf_map_update_batch(int fd, void *keys, void *values, _Inout_ uint32_t *count, void *opts)'),
    bpf_map_lookup_elem: lib.func('int bpf_map_lookup_elem(int fd, void *key, void *value)'),
    bpf_map_update_elem: lib.func('int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)'),
    bpf_map_delete_elem: lib.func('int bpf_map_delete_elem(int fd, void *key)'),
    bpf_map_get_next_key: lib.func('int bpf_map_get_next_key(int fd, void *key, void *next)'),

    bpf_prog_test_run_opts: lib.func('int bpf_prog_test_run_opts(int fd, void *opts)'),

    bpf_link_create: lib.func('int bpf_link_create(int prog_fd, int target_fd, int attach_type, void *opts)'),
    bpf_xdp_attach: lib.func('int bpf_xdp_attach(int ifindex, int prog_fd, uint32_t flags, void *opts)'),
    bpf_xdp_detach: lib.func('int bpf_xdp_detach(int ifindex, uint32_t flags, void *opts)'),
    bpf_tc_hook_create: lib.func('int bpf_tc_hook_create(bpf_tc_hook *hook)'),
    bpf_tc_hook_destroy: lib.func('int bpf_tc_hook_destroy(bpf_tc_hook *hook)'),
    bpf_tc_attach: lib.func('int bpf_tc_attach(const bpf_tc_hook *hook, _Inout_ bpf_tc_opts *opts)'),
    bpf_tc_detach: lib.func('int bpf_tc_detach(const bpf_tc_hook *hook, const bpf_tc_opts *opts)'),

    bpf_obj_get_info_by_fd: lib.func('int bpf_obj_get_info_by_fd(int fd, void *info, _Inout_ uint32_t *len)'),

    if_nametoindex: libc.func('uint32_t if_nametoindex(const char *name)'),
    if_indextoname: ptrFn(libc, 'void *if_indextoname(uint32_t ifindex, void *name)'),
    setns: libc.func('int setns(int fd, int nstype)'),
    unshare: libc.func('int unshare(int flags)'),
    socket: libc.func('int socket(int domain, int type, int protocol)'),
    ioctl: libc.func('int ioctl(int fd, unsigned long request, void *arg)'),
    close: libc.func('int close(int fd)'),
    umount2: libc.func('int umount2(const char *target, int flags)'),
    bind: libc.func('int bind(int fd, void *addr, uint32_t len)'),
    setsockopt: libc.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)'),
    getsockopt: libc.func('int getsockopt(int fd, int level, int name, void *value, _Inout_ uint32_t *len)'),
    send: libc.func('intptr_t send(int fd, void *buf, size_t len, int flags)'),
    recv: libc.func('intptr_t recv(int fd, void *buf, size_t len, int flags)'),
    recvmsg: libc.func('intptr_t recvmsg(int fd, void *msg, int flags)'),
    sendmmsg: libc.func('int sendmmsg(int fd, void *msgvec, unsigned int vlen, int flags)'),
    recvmmsg: libc.func('int recvmmsg(int fd, void *msgvec, unsigned int vlen, int flags, void *timeout)'),
  };
}

const binding = processWide('ffi-binding', () => ({ bound: undefined as ReturnType<typeof bind> | undefined }));

/** The bound functions, loaded on first use so importing xdpspec never needs libbpf. */
export function ffi(): ReturnType<typeof bind> {
  binding.bound ??= bind();
  return binding.bound;
}

/** errno of the last foreign call. */
export function errno(): number {
  return koffi.errno();
}

/** Native memory that lives until `free`: its address for C, and a Buffer view for us. */
export interface NativeBlock {
  readonly address: Ptr;
  /** koffi's own handle: passing it to a `void *` parameter is cheaper than the address. */
  readonly pointer: unknown;
  readonly view: Buffer;
  free(): void;
}

export function allocNative(size: number): NativeBlock {
  const p = koffi.alloc('uint8_t', size);
  const address = koffi.address(p) as bigint;
  const view = Buffer.from(koffi.view(p, size));
  view.fill(0);
  let freed = false;
  return {
    address,
    pointer: p,
    view,
    free: () => {
      if (!freed) koffi.free(p);
      freed = true;
    },
  };
}

/** Reads `size` bytes at a native address (copied). */
export function readNative(address: Ptr, size: number): Buffer {
  if (size === 0) return Buffer.alloc(0);
  // Buffer.from of a Uint8Array copies; of the ArrayBuffer itself it would only be a view.
  return Buffer.from(new Uint8Array(koffi.view(address, size)));
}

export { koffi };
