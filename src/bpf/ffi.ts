// The only file that declares libbpf's functions (the system's libbpf.so.1), each with its
// TypeScript signature; libc's are in sys/libc.ts. Everything else calls these typed wrappers.
// Pointers are BigInt addresses (koffi 3); 0n is NULL.
import { declare, declarePtr, koffi, loadLibrary, type CPointer, type Ptr } from '../sys/native.js';
import { processWide } from '../sys/process-wide.js';

export { allocNative, errno, koffi, readNative, type NativeBlock, type Ptr } from '../sys/native.js';
// One value per process however many copies of xdpspec are loaded: see sys/process-wide.ts.
export { processWide } from '../sys/process-wide.js';

/** A C struct passed by pointer as a plain object koffi lays out (bpf_tc_hook, bpf_tc_opts). */
type Struct = Record<string, number>;

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

function bind() {
  const lib = loadLibrary('libbpf.so.1', 'libbpf1');
  const fn = <F extends (...args: never[]) => unknown>(decl: string) => declare<F>(lib, decl);
  const ptr = <A extends unknown[]>(decl: string) => declarePtr<A>(lib, decl);
  type Obj = Ptr;
  // libbpf's print callback gets a va_list; sys/libc's vsnprintf turns it into text on our side.
  const PrintFn = koffi.proto('int libbpf_print_fn(int level, const char *fmt, void *args)');
  // A SEC() handler's load callback: how the coverage instrumentation sees a program's final
  // instructions just before libbpf loads them (see bpf/counters.ts).
  const PrepareLoadFn = koffi.proto('int libbpf_prog_prepare_load_fn(void *prog, void *opts, long cookie)');
  // A ring buffer's record callback; the record's address as an integer, read with koffi.view.
  const SampleFn = koffi.proto('int ring_buffer_sample_fn(void *ctx, uintptr_t data, size_t size)');
  // A perf buffer's: a record of a CPU's buffer, and a count of records the kernel could not write.
  const PerfSampleFn = koffi.proto('void perf_buffer_sample_fn(void *ctx, int cpu, uintptr_t data, uint32_t size)');
  const PerfLostFn = koffi.proto('void perf_buffer_lost_fn(void *ctx, int cpu, uint64_t count)');
  const HandlerOpts = koffi.struct('libbpf_prog_handler_opts', {
    sz: 'size_t',
    cookie: 'long',
    prog_setup_fn: 'void *',
    prog_prepare_load_fn: koffi.pointer(PrepareLoadFn),
    prog_attach_fn: 'void *',
  });
  return {
    PrintFn,
    SampleFn,
    PerfSampleFn,
    PerfLostFn,
    PrepareLoadFn,
    HandlerOpts,
    libbpf_register_prog_handler: fn<
      (sec: string | null, progType: number, attachType: number, opts: Record<string, unknown>) => number
    >(
      'int libbpf_register_prog_handler(const char *sec, int prog_type, int attach_type, const libbpf_prog_handler_opts *opts)',
    ),
    bpf_program__set_insns: fn<(prog: Ptr, insns: CPointer, count: number) => number>(
      'int bpf_program__set_insns(void *prog, void *insns, size_t count)',
    ),
    libbpf_set_print: ptr<[fn: unknown]>('void *libbpf_set_print(libbpf_print_fn *fn)'),
    libbpf_num_possible_cpus: fn<() => number>('int libbpf_num_possible_cpus()'),

    bpf_object__open_file: ptr<[path: string, opts: CPointer]>(
      'void *bpf_object__open_file(const char *path, void *opts)',
    ),
    bpf_object__load: fn<(obj: Obj) => number>('int bpf_object__load(void *obj)'),
    bpf_object__close: fn<(obj: Obj) => void>('void bpf_object__close(void *obj)'),
    bpf_object__btf: ptr<[obj: Obj]>('void *bpf_object__btf(void *obj)'),
    btf__raw_data: ptr<[btf: Ptr, size: number[]]>('void *btf__raw_data(void *btf, _Out_ uint32_t *size)'),

    bpf_object__next_program: ptr<[obj: Obj, prog: Ptr | null]>(
      'void *bpf_object__next_program(void *obj, void *prog)',
    ),
    bpf_program__name: fn<(prog: Ptr) => string>('const char *bpf_program__name(void *prog)'),
    bpf_program__section_name: fn<(prog: Ptr) => string>('const char *bpf_program__section_name(void *prog)'),
    bpf_program__type: fn<(prog: Ptr) => number>('int bpf_program__type(void *prog)'),
    bpf_program__fd: fn<(prog: Ptr) => number>('int bpf_program__fd(void *prog)'),
    bpf_program__insns: ptr<[prog: Ptr]>('void *bpf_program__insns(void *prog)'),
    bpf_program__insn_cnt: fn<(prog: Ptr) => number>('size_t bpf_program__insn_cnt(void *prog)'),
    bpf_program__set_autoload: fn<(prog: Ptr, autoload: boolean) => number>(
      'int bpf_program__set_autoload(void *prog, bool autoload)',
    ),
    bpf_program__set_type: fn<(prog: Ptr, type: number) => number>('int bpf_program__set_type(void *prog, int type)'),
    bpf_program__attach_raw_tracepoint: ptr<[prog: Ptr, name: string]>(
      'void *bpf_program__attach_raw_tracepoint(void *prog, const char *name)',
    ),
    bpf_link__destroy: fn<(link: Ptr) => number>('int bpf_link__destroy(void *link)'),

    bpf_object__next_map: ptr<[obj: Obj, map: Ptr | null]>('void *bpf_object__next_map(void *obj, void *map)'),
    bpf_map__name: fn<(map: Ptr) => string>('const char *bpf_map__name(void *map)'),
    bpf_map__type: fn<(map: Ptr) => number>('int bpf_map__type(void *map)'),
    bpf_map__key_size: fn<(map: Ptr) => number>('uint32_t bpf_map__key_size(void *map)'),
    bpf_map__value_size: fn<(map: Ptr) => number>('uint32_t bpf_map__value_size(void *map)'),
    bpf_map__max_entries: fn<(map: Ptr) => number>('uint32_t bpf_map__max_entries(void *map)'),
    bpf_map__fd: fn<(map: Ptr) => number>('int bpf_map__fd(void *map)'),
    bpf_map__btf_key_type_id: fn<(map: Ptr) => number>('uint32_t bpf_map__btf_key_type_id(void *map)'),
    bpf_map__btf_value_type_id: fn<(map: Ptr) => number>('uint32_t bpf_map__btf_value_type_id(void *map)'),
    bpf_map__initial_value: ptr<[map: Ptr, size: number[]]>(
      'void *bpf_map__initial_value(void *map, _Out_ size_t *size)',
    ),
    bpf_map__set_initial_value: fn<(map: Ptr, data: CPointer, size: number) => number>(
      'int bpf_map__set_initial_value(void *map, void *data, size_t size)',
    ),
    bpf_map__pin_path: fn<(map: Ptr) => string | null>('const char *bpf_map__pin_path(void *map)'),
    bpf_map__reuse_fd: fn<(map: Ptr, fd: number) => number>('int bpf_map__reuse_fd(void *map, int fd)'),
    bpf_map__map_flags: fn<(map: Ptr) => number>('uint32_t bpf_map__map_flags(void *map)'),
    bpf_map__set_map_flags: fn<(map: Ptr, flags: number) => number>(
      'int bpf_map__set_map_flags(void *map, uint32_t flags)',
    ),
    bpf_map__set_pin_path: fn<(map: Ptr, path: string | null) => number>(
      'int bpf_map__set_pin_path(void *map, const char *path)',
    ),

    ring_buffer__new: ptr<[fd: number, cb: unknown, ctx: null, opts: null]>(
      'void *ring_buffer__new(int map_fd, ring_buffer_sample_fn *sample_cb, void *ctx, void *opts)',
    ),
    ring_buffer__consume: fn<(rb: Ptr) => number>('int ring_buffer__consume(void *rb)'),
    ring_buffer__free: fn<(rb: Ptr) => void>('void ring_buffer__free(void *rb)'),
    perf_buffer__new: ptr<[fd: number, pages: number, sample: unknown, lost: unknown, ctx: null, opts: null]>(
      'void *perf_buffer__new(int map_fd, size_t page_cnt, perf_buffer_sample_fn *sample_cb, perf_buffer_lost_fn *lost_cb, void *ctx, void *opts)',
    ),
    perf_buffer__consume: fn<(pb: Ptr) => number>('int perf_buffer__consume(void *pb)'),
    perf_buffer__free: fn<(pb: Ptr) => void>('void perf_buffer__free(void *pb)'),

    bpf_map_create: fn<
      (
        type: number,
        name: string | null,
        keySize: number,
        valueSize: number,
        maxEntries: number,
        opts: CPointer,
      ) => number
    >(
      'int bpf_map_create(int type, const char *name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, void *opts)',
    ),
    bpf_map_get_fd_by_id: fn<(id: number) => number>('int bpf_map_get_fd_by_id(uint32_t id)'),
    bpf_map_update_batch: fn<(fd: number, keys: CPointer, values: CPointer, count: number[], opts: CPointer) => number>(
      'int bpf_map_update_batch(int fd, void *keys, void *values, _Inout_ uint32_t *count, void *opts)',
    ),
    bpf_map_lookup_batch: fn<
      (
        fd: number,
        inBatch: CPointer,
        outBatch: CPointer,
        keys: CPointer,
        values: CPointer,
        count: number[],
        opts: CPointer,
      ) => number
    >(
      'int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, void *opts)',
    ),
    bpf_map_delete_batch: fn<(fd: number, keys: CPointer, count: number[], opts: CPointer) => number>(
      'int bpf_map_delete_batch(int fd, void *keys, _Inout_ uint32_t *count, void *opts)',
    ),
    bpf_map_lookup_elem: fn<(fd: number, key: CPointer, value: CPointer) => number>(
      'int bpf_map_lookup_elem(int fd, void *key, void *value)',
    ),
    bpf_map_update_elem: fn<(fd: number, key: CPointer, value: CPointer, flags: bigint) => number>(
      'int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)',
    ),
    bpf_map_delete_elem: fn<(fd: number, key: CPointer) => number>('int bpf_map_delete_elem(int fd, void *key)'),
    bpf_map_lookup_and_delete_elem: fn<(fd: number, key: CPointer, value: CPointer) => number>(
      'int bpf_map_lookup_and_delete_elem(int fd, void *key, void *value)',
    ),
    bpf_map_get_next_key: fn<(fd: number, key: CPointer, next: CPointer) => number>(
      'int bpf_map_get_next_key(int fd, void *key, void *next)',
    ),

    bpf_prog_test_run_opts: fn<(fd: number, opts: CPointer) => number>(
      'int bpf_prog_test_run_opts(int fd, void *opts)',
    ),

    bpf_link_create: fn<(progFd: number, targetFd: number, attachType: number, opts: CPointer) => number>(
      'int bpf_link_create(int prog_fd, int target_fd, int attach_type, void *opts)',
    ),
    bpf_xdp_attach: fn<(ifindex: number, progFd: number, flags: number, opts: CPointer) => number>(
      'int bpf_xdp_attach(int ifindex, int prog_fd, uint32_t flags, void *opts)',
    ),
    bpf_xdp_detach: fn<(ifindex: number, flags: number, opts: CPointer) => number>(
      'int bpf_xdp_detach(int ifindex, uint32_t flags, void *opts)',
    ),
    bpf_tc_hook_create: fn<(hook: Struct) => number>('int bpf_tc_hook_create(bpf_tc_hook *hook)'),
    bpf_tc_hook_destroy: fn<(hook: Struct) => number>('int bpf_tc_hook_destroy(bpf_tc_hook *hook)'),
    bpf_tc_attach: fn<(hook: Struct, opts: Struct) => number>(
      'int bpf_tc_attach(const bpf_tc_hook *hook, _Inout_ bpf_tc_opts *opts)',
    ),
    bpf_tc_detach: fn<(hook: Struct, opts: Struct) => number>(
      'int bpf_tc_detach(const bpf_tc_hook *hook, const bpf_tc_opts *opts)',
    ),

    bpf_obj_get_info_by_fd: fn<(fd: number, info: CPointer, len: number[]) => number>(
      'int bpf_obj_get_info_by_fd(int fd, void *info, _Inout_ uint32_t *len)',
    ),
  };
}

const binding = processWide('ffi-binding', () => ({ bound: undefined as ReturnType<typeof bind> | undefined }));

/** libbpf's functions, bound on first use so importing xdpspec never needs libbpf. */
export function ffi(): ReturnType<typeof bind> {
  binding.bound ??= bind();
  return binding.bound;
}
