// Fixtures in Playwright's manner, on Mocha's hooks: each is one function that sets up, hands its
// value to `use`, and tears down after `use` returns, so what is made and what undoes it are
// written together. Fixtures compose: each gets the values of those declared before it. Scope
// `suite` lives for the enclosing describe, `case` for each it().
import { basename } from 'node:path';
import { XdpspecError } from '../sys/errors.js';
import { valueText } from '../sys/text.js';

/** What a fixture knows of the case it serves (for `suite` fixtures: of the last case run). */
export interface CaseInfo {
  readonly title: string;
  readonly file: string | undefined;
  /** The case failed (read in tear-down, after `use` returned). */
  readonly failed: boolean;
  /** Attaches a file to the case: reporters list it (`xdpspec run --junit`: as a JUnit attachment). */
  attach(name: string, path: string): void;
  /** `DIR/<spec file>/<case title>.EXT`: where a case's own file goes. */
  pathFor(dir: string, ext: string): string;
}

/** A file attached to a case. */
export interface Attachment {
  readonly name: string;
  readonly path: string;
}

/** Where attachments are recorded on the Mocha test object, for reporters. */
export const ATTACHMENTS = Symbol.for('xdpspec.attachments');

/** The files attached to a Mocha test (empty when none). */
export function attachmentsOf(test: object): readonly Attachment[] {
  return (test as Record<symbol, Attachment[] | undefined>)[ATTACHMENTS] ?? [];
}

export type FixtureBody<D, V> = (deps: D, use: (value: V) => Promise<void>, info: CaseInfo) => Promise<void>;

interface MochaTest {
  title: string;
  state?: string;
  file?: string;
}
interface HookContext {
  currentTest?: MochaTest;
}
type Hook = (fn: (this: HookContext) => unknown) => void;

interface Declared {
  readonly name: string;
  readonly scope: 'suite' | 'case';
  readonly body: FixtureBody<Record<string, unknown>, unknown>;
}

/** A fixture that has reached `use`: its value, and how to let it tear down. */
interface Running {
  readonly name: string;
  value: unknown;
  release(): Promise<void>;
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80) || 'case';

function caseInfo(test: MochaTest | undefined): CaseInfo {
  return {
    title: test?.title ?? '(no case)',
    file: test?.file,
    get failed() {
      return test?.state === 'failed';
    },
    attach(name, path) {
      if (!test) return;
      const t = test as unknown as Record<symbol, Attachment[] | undefined>;
      (t[ATTACHMENTS] ??= []).push({ name, path });
      // Plain Mocha reporters know nothing of attachments: say where the file is, beside the case.
      process.stderr.write(`      attached to "${test.title}": ${name} ${path}\n`);
    },
    pathFor(dir, ext) {
      return `${dir}/${slug(basename(test?.file ?? 'spec'))}/${slug(test?.title ?? 'case')}.${ext}`;
    },
  };
}

/** Runs `body` up to its `use`: resolves with the value, and keeps the tear-down for later. */
async function start(d: Declared, deps: Record<string, unknown>, info: CaseInfo): Promise<Running> {
  let letGo!: () => void;
  const released = new Promise<void>((r) => (letGo = r));
  let handed: ((v: unknown) => void) | undefined;
  const value = new Promise<unknown>((resolve) => (handed = resolve));
  const done = d.body(
    deps,
    (v) => {
      handed!(v);
      return released;
    },
    info,
  );
  // The body may fail before it reaches `use` (set-up failed) or never call it.
  const first = await Promise.race([value.then((v) => ({ v })), done.then(() => undefined)]);
  if (first === undefined)
    throw new XdpspecError(
      'FIXTURE',
      `fixture ${d.name} returned without calling use(); its body must await use(value) between its set-up and its tear-down`,
    );
  return {
    name: d.name,
    value: first.v,
    release: async () => {
      letGo();
      await done;
    },
  };
}

/**
 * A set of fixtures for the cases of the enclosing `describe`, declared in order with `suite`
 * and `case`; `values` gives them to cases (and to later fixtures, as their first argument).
 *
 *   const f = fixtures()
 *     .suite('bench', async (_, use) => { const b = await LiveBench.create(spec); await use(b); b.close(); })
 *     .case('obj', async ({ bench }, use) => { const o = loadObject(path); bench.attach(o.program(), 'wan'); await use(o); o.close(); });
 *   it('...', async () => { await f.values.bench.replay(frames, { on: 'wan' }); });
 *
 * Tear-down runs in the reverse order of set-up, after each case for `case` fixtures and after
 * the describe for `suite` ones, whether the case passed or not; a tear-down's error fails the hook.
 * @throws XdpspecError `NOT_IN_MOCHA` outside a Mocha describe().
 */
export function fixtures(): Fixtures<object> {
  return new Fixtures<object>([]);
}

export class Fixtures<T extends object> {
  private readonly running = new Map<string, unknown>();

  /** @internal */
  constructor(private readonly declared: Declared[]) {
    if (declared.length === 0) this.hooks();
  }

  /** A fixture set up once before the describe's cases, torn down after them. */
  suite<K extends string, V>(name: K, body: FixtureBody<T, V>): Fixtures<T & { readonly [k in K]: V }> {
    return this.add(name, 'suite', body);
  }

  /** A fixture set up before each case, torn down after it. */
  case<K extends string, V>(name: K, body: FixtureBody<T, V>): Fixtures<T & { readonly [k in K]: V }> {
    return this.add(name, 'case', body);
  }

  private add<K extends string, V>(
    name: K,
    scope: 'suite' | 'case',
    body: FixtureBody<T, V>,
  ): Fixtures<T & { readonly [k in K]: V }> {
    if (this.declared.some((d) => d.name === name))
      throw new XdpspecError('FIXTURE', `fixture ${name} is declared twice in this describe`);
    this.declared.push({ name, scope, body: body as unknown as Declared['body'] });
    return this as unknown as Fixtures<T & { readonly [k in K]: V }>;
  }

  /**
   * Declares a case (Mocha's `it`) whose body gets the fixtures' values as its first argument,
   * as Playwright's tests do, and Mocha's context (for `this.skip()`, timeouts) as its second.
   */
  it(title: string, body: (values: T, context: { skip(): never; timeout(ms: number): void }) => unknown): void {
    const g = globalThis as unknown as {
      it?: (title: string, fn: (this: { skip(): never; timeout(ms: number): void }) => unknown) => void;
    };
    if (!g.it)
      throw new XdpspecError(
        'NOT_IN_MOCHA',
        'fixtures declare Mocha cases: call it inside a describe() of a spec that Mocha runs',
      );
    const values = this.values;
    g.it(title, function () {
      return body(values, this);
    });
  }

  /** The fixtures' values, inside cases and hooks that run after the fixtures' own. */
  get values(): T {
    return new Proxy({} as T, {
      get: (_, key) => {
        if (typeof key !== 'string') return undefined;
        if (!this.declared.some((d) => d.name === key))
          throw new XdpspecError(
            'FIXTURE',
            `no fixture ${key}; fixtures: ${this.declared.map((d) => d.name).join(', ')}`,
          );
        if (!this.running.has(key))
          throw new XdpspecError(
            'BENCH_NOT_READY',
            `fixture ${key} exists inside cases (it(...)), after its set-up hook; not while describe() runs`,
          );
        return this.running.get(key);
      },
    });
  }

  private hooks(): void {
    const g = globalThis as unknown as { before?: Hook; after?: Hook; beforeEach?: Hook; afterEach?: Hook };
    if (!g.before || !g.after || !g.beforeEach || !g.afterEach)
      throw new XdpspecError(
        'NOT_IN_MOCHA',
        'fixtures declare Mocha hooks: call it inside a describe() of a spec that Mocha runs',
      );
    const suite: Running[] = [];
    const perCase: Running[] = [];
    const setUp = async (scope: 'suite' | 'case', into: Running[], test: MochaTest | undefined) => {
      for (const d of this.declared.filter((x) => x.scope === scope)) {
        const r = await start(d, Object.fromEntries(this.running), caseInfo(test));
        into.push(r);
        this.running.set(d.name, r.value);
      }
    };
    const tearDown = async (from: Running[]) => {
      let first: Error | undefined;
      for (const r of from.splice(0).reverse()) {
        this.running.delete(r.name);
        try {
          await r.release();
        } catch (err) {
          first ??= err instanceof Error ? err : new Error(valueText(err));
        }
      }
      if (first !== undefined) throw first;
    };
    g.before(async function () {
      await setUp('suite', suite, undefined);
    });
    g.beforeEach(async function () {
      await setUp('case', perCase, this.currentTest);
    });
    g.afterEach(async function () {
      await tearDown(perCase);
    });
    g.after(async function () {
      await tearDown(suite);
    });
  }
}
