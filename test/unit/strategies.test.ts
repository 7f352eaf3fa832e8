import { describe, expect, it } from 'vitest';
import type { StrategyName } from '../../src/config/names.js';
import { runSteps, StepsInterruptedError, StepsUndoneError, UndoFailedError } from '../../src/deploy/steps.js';
import { promoteSteps, strategySteps, withdrawSteps, type StrategyOptions } from '../../src/deploy/strategies.js';
import { context, fakes, running, seed, type Fakes } from './deploy-fakes.js';

// The strategies' step lists over in-memory fakes of the engine and router: their order, what
// each does, and their undo. The same code against a real engine is test/deploy/strategies.test.ts.

const defaults: StrategyOptions = { batch: 1, cohort: ['beta'], probationSeconds: 0 };
const w = (weights: Record<string, number>) => `routes ${JSON.stringify({ weights })}`;
const all = 'routes {}';

/** Deploys release 2 over `old` instances of release 1 with a strategy; resolves with the error if it failed. */
async function deploy(
  f: Fakes,
  strategy: StrategyName,
  setup: { old?: number; replicas?: number; options?: Partial<StrategyOptions> } = {},
) {
  const old = seed(f, 1, setup.old ?? 2);
  const ctx = context(f, 2, { previous: 1, ...(setup.replicas !== undefined && { replicas: setup.replicas }) });
  f.effects.length = 0;
  const error = await runSteps(strategySteps(strategy, ctx, old, { ...defaults, ...setup.options }), {
    what: 'deploy of shop:2 to dev',
    log: ctx.log,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, lines: ctx.lines };
}

describe('strategy step lists', () => {
  it.each<[string, StrategyName, { old?: number; replicas?: number; options?: Partial<StrategyOptions> }, string[]]>([
    [
      'recreate starts the new instances, routes to all, then retires the old',
      'recreate',
      {},
      ['start r2', 'start r2', all, 'retire r1', 'retire r1'],
    ],
    [
      'blue-green pins traffic to the old release, starts all new, switches at once, then retires the old',
      'blue-green',
      {},
      [w({ 1: 1 }), 'start r2', 'start r2', w({ 2: 1 }), 'retire r1', 'retire r1', all],
    ],
    [
      'rolling, batch 1: one new instance, then one old retired, in turn',
      'rolling',
      {},
      [all, 'start r2', 'retire r1', 'start r2', 'retire r1'],
    ],
    [
      'rolling, batch 2 over 3: two at a time, then the rest',
      'rolling',
      { old: 3, replicas: 3, options: { batch: 2 } },
      [all, 'start r2', 'start r2', 'retire r1', 'retire r1', 'start r2', 'retire r1'],
    ],
    [
      'rolling that scales down retires the surplus',
      'rolling',
      { old: 3, replicas: 1 },
      [all, 'start r2', 'retire r1', 'retire r1', 'retire r1'],
    ],
    [
      'canary: one new instance gets its share and the cohorts',
      'canary',
      { options: { percent: 20 } },
      [w({ 1: 1 }), 'start r2', `routes ${JSON.stringify({ weights: { 1: 80, 2: 20 }, cohort: { release: 2, names: ['beta'] } })}`],
    ],
    [
      'ab: all new instances beside the old, split 50/50 and sticky',
      'ab',
      {},
      [
        w({ 1: 1 }),
        'start r2',
        'start r2',
        `routes ${JSON.stringify({ weights: { 1: 50, 2: 50 }, cohort: { release: 2, names: ['beta'] }, sticky: true })}`,
      ],
    ],
  ])('%s', async (_name, strategy, setup, effects) => {
    const f = fakes();
    const { error } = await deploy(f, strategy, setup);
    expect(error).toBeUndefined();
    expect(f.effects).toEqual(effects);
  });

  it('leaves only the new release after recreate, blue-green and rolling; both after canary and ab', async () => {
    for (const [strategy, after] of [
      ['recreate', [2, 2]],
      ['blue-green', [2, 2]],
      ['rolling', [2, 2]],
      ['canary', [1, 1, 2]],
      ['ab', [1, 1, 2, 2]],
    ] as const) {
      const f = fakes();
      await deploy(f, strategy);
      expect(running(f), strategy).toEqual(after);
      expect([...f.engine.containers.values()].filter((c) => c.running)).toHaveLength(after.length);
    }
  });

  it('names each step as it runs', async () => {
    const f = fakes();
    const { lines } = await deploy(f, 'recreate', { old: 1, replicas: 1 });
    expect(lines).toEqual(['start an instance of release 2', 'route to every instance', 'retire instance r1i0 (release 1)']);
    const rolling = await deploy(fakes(), 'rolling');
    expect(rolling.lines).toEqual([
      'route to every healthy instance',
      'start an instance of release 2',
      'retire instance r1i0 (release 1)',
      'start an instance of release 2',
      'retire instance r1i1 (release 1)',
    ]);
  });
});

describe('undoing a failed strategy', () => {
  it('rolling: a new instance that does not start undoes the batch before it, in reverse', async () => {
    const f = fakes();
    f.engine.failStart(2, 1);
    const { error, lines } = await deploy(f, 'rolling');
    expect(error).toBeInstanceOf(StepsUndoneError);
    expect((error as StepsUndoneError).kind).toBe('deploy-failed');
    expect((error as StepsUndoneError).message).toMatch(
      /^deploy of shop:2 to dev failed and was undone: step "start an instance of release 2" failed: release 2 does not start/,
    );
    expect((error as StepsUndoneError).undone).toEqual([
      'retire instance r1i0 (release 1)',
      'start an instance of release 2',
      'route to every healthy instance',
    ]);
    expect(lines.filter((l) => l.startsWith('undo: '))).toHaveLength(3);
    // The retired old instance comes back (a fresh one of release 1), the new one goes.
    expect(f.effects).toEqual([all, 'start r2', 'retire r1', 'start r1', 'retire r2', all]);
    expect(running(f)).toEqual([1, 1]);
    expect([...f.engine.containers.values()].map((c) => c.labels['dev.bake.release'])).toEqual(['1', '1']);
  });

  it('blue-green with probation keeps the old fleet up with no traffic, and returns once switched', async () => {
    const f = fakes();
    const { error } = await deploy(f, 'blue-green', { options: { keepOld: true } });
    expect(error).toBeUndefined();
    expect(f.effects).toEqual([w({ 1: 1 }), 'start r2', 'start r2', w({ 2: 1 })]);
    expect(running(f)).toEqual([1, 1, 2, 2]);
    expect(f.router.routes).toEqual({ weights: { 2: 1 } });
  });

  it('blue-green with preview starts the new fleet behind the preview listeners and does not switch', async () => {
    const f = fakes();
    const { error } = await deploy(f, 'blue-green', { options: { preview: true } });
    expect(error).toBeUndefined();
    expect(f.router.routes).toEqual({ weights: { 1: 1 }, preview: 2 });
    expect(running(f)).toEqual([1, 1, 2, 2]);
  });

  it('an interruption between steps undoes the steps done: StepsInterruptedError, kind interrupted', async () => {
    const f = fakes();
    const old = seed(f, 1, 2);
    const ctx = context(f, 2, { previous: 1 });
    f.effects.length = 0;
    const controller = new AbortController();
    let steps = 0;
    const counted = (async function* () {
      for await (const step of strategySteps('blue-green', ctx, old, defaults)) {
        if (++steps === 3) controller.abort('SIGINT');
        yield step;
      }
    })();
    const error = await runSteps(counted, { what: 'deploy of shop:2 to dev', signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepsInterruptedError);
    expect((error as StepsInterruptedError).kind).toBe('interrupted');
    expect(f.effects).toEqual([w({ 1: 1 }), 'start r2', 'retire r2', 'routes {}']);
    expect(running(f)).toEqual([1, 1]);
  });

  it('canary: a canary that does not start puts the routes back', async () => {
    const f = fakes();
    f.router.routes = { weights: { 1: 1 } };
    f.engine.failStart(2);
    const { error } = await deploy(f, 'canary');
    expect(error).toBeInstanceOf(StepsUndoneError);
    expect(running(f)).toEqual([1, 1]);
    expect(f.router.routes).toEqual({ weights: { 1: 1 } });
    expect(f.engine.containers.size).toBe(2);
  });

  it('reports an undo that failed, and still runs the other undos', async () => {
    const f = fakes();
    f.engine.failStart(2, 1);
    f.engine.failRemove('c100'); // the first new instance, which the undo must remove
    const { error } = await deploy(f, 'rolling');
    expect(error).toBeInstanceOf(UndoFailedError);
    const undo = error as UndoFailedError;
    expect(undo.kind).toBe('deploy-undo-failed');
    expect(undo.message).not.toMatch(/was undone/);
    expect(undo.message).toMatch(
      /could not be fully undone: step "start an instance of release 2" failed: release 2 does not start; then the undo of "start an instance of release 2" \(container c100 cannot be removed\) failed too/,
    );
    expect(undo.details()).toEqual({
      step: 'start an instance of release 2',
      undone: ['retire instance r1i0 (release 1)', 'route to every healthy instance'],
      undoFailures: [{ step: 'start an instance of release 2', message: 'container c100 cannot be removed' }],
    });
    expect(f.effects.at(-1)).toBe(all); // the route undo ran after the failed one
  });
});

describe('promote and withdraw', () => {
  /** The state a canary leaves: two instances of release 1, one of release 2, canary routes. */
  function canary() {
    const f = fakes();
    const instances = [...seed(f, 1, 2), ...seed(f, 2, 1)];
    f.router.routes = { weights: { 1: 80, 2: 20 }, cohort: { release: 2, names: ['beta'] } };
    f.effects.length = 0;
    return { f, instances };
  }

  it('promote tops the release up to the replica count, moves all traffic, then retires the others', async () => {
    const { f, instances } = canary();
    const ctx = context(f, 2, { previous: 1 });
    await runSteps(promoteSteps(ctx, instances), { what: 'promote of release 2 in dev' });
    expect(f.effects).toEqual(['start r2', w({ 2: 1 }), 'retire r1', 'retire r1', all]);
    expect(running(f)).toEqual([2, 2]);
  });

  it('promote with the release already at full size starts nothing', async () => {
    const f = fakes();
    const instances = [...seed(f, 1, 1), ...seed(f, 2, 2)];
    f.effects.length = 0;
    await runSteps(promoteSteps(context(f, 2, { previous: 1 }), instances), { what: 'promote' });
    expect(f.effects).toEqual([w({ 2: 1 }), 'retire r1', all]);
  });

  it('a failed promote leaves the canary as it was', async () => {
    const { f, instances } = canary();
    f.engine.failStart(2);
    const error = await runSteps(promoteSteps(context(f, 2, { previous: 1 }), instances), { what: 'promote of release 2 in dev' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StepsUndoneError);
    expect((error as Error).message).toMatch(/^promote of release 2 in dev failed and was undone/);
    expect(running(f)).toEqual([1, 1, 2]);
    expect(f.router.routes).toEqual({ weights: { 1: 80, 2: 20 }, cohort: { release: 2, names: ['beta'] } });
  });

  it('withdraw sends traffic back, retires the release on probation, and routes to every instance', async () => {
    const { f, instances } = canary();
    await runSteps(withdrawSteps(context(f, 2), instances), { what: 'withdrawal of release 2 from dev' });
    expect(f.effects).toEqual([w({ 1: 1 }), 'retire r2', all]);
    expect(running(f)).toEqual([1, 1]);
  });

  it('a failed withdraw starts the withdrawn release again and puts its routes back', async () => {
    const { f, instances } = canary();
    f.router.failRoutes({});
    const error = await runSteps(withdrawSteps(context(f, 2), instances), { what: 'withdrawal of release 2 from dev' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StepsUndoneError);
    expect((error as StepsUndoneError).undone).toEqual(['retire instance r2i0 (release 2)', 'keep traffic on the other releases']);
    expect(f.effects).toEqual([
      w({ 1: 1 }),
      'retire r2',
      'start r2',
      `routes ${JSON.stringify({ weights: { 1: 80, 2: 20 }, cohort: { release: 2, names: ['beta'] } })}`,
    ]);
    expect(running(f)).toEqual([1, 1, 2]);
  });
});
