import { expect } from 'chai';
import { NotSupportedError, XdpspecError, skipIfNotSupported } from '../../src/index.js';

/** A stand-in for Mocha's context: records the skip instead of throwing Mocha's Pending. */
function context() {
  const ctx = {
    test: { title: 'attaches by tcx link' },
    skipped: false,
    skip(): never {
      ctx.skipped = true;
      throw new Error('skipped');
    },
  };
  return ctx;
}

describe('skipIfNotSupported', () => {
  it("skips a case whose kernel lacks the feature, with the reason in its title (what reporters and JUnit's <skipped> show)", async () => {
    const ctx = context();
    const err = await skipIfNotSupported(ctx, () => {
      throw new NotSupportedError('tcx links', 'this kernel has no tcx links (6.6+)');
    }).catch((e: unknown) => e);
    expect(ctx.skipped).to.equal(true);
    expect((err as Error).message).to.equal('skipped');
    expect(ctx.test.title).to.equal('attaches by tcx link (skipped: this kernel has no tcx links (6.6+))');
  });

  it('fails the case on any other error, and passes on what the body returns', async () => {
    const ctx = context();
    const err = await skipIfNotSupported(ctx, () => Promise.reject(new XdpspecError('NO_PORT', 'no port'))).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(XdpspecError).with.property('code', 'NO_PORT');
    expect(await skipIfNotSupported(ctx, () => 42)).to.equal(42);
    expect(ctx.skipped).to.equal(false);
    expect(ctx.test.title).to.equal('attaches by tcx link');
  });

  it('runs the body of a real Mocha case when the kernel has the feature', async function () {
    // The same helper on this very case: a feature this kernel has, so the case runs and passes.
    expect(await skipIfNotSupported(this, () => 'ran')).to.equal('ran');
  });
});
