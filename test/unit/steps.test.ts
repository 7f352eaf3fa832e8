import { describe, expect, it } from 'vitest';
import { runSteps, StepsUndoneError, UndoFailedError, type Step } from '../../src/deploy/steps.js';

/** A step that records its run and undo in `log`; `fail` makes run or undo throw. */
function step(log: string[], name: string, fail: { run?: boolean; undo?: boolean } = {}): Step {
  return {
    name,
    run: async () => {
      if (fail.run) throw new Error(`${name} broke`);
      log.push(`run ${name}`);
    },
    undo: async () => {
      if (fail.undo) throw new Error(`undo of ${name} broke`);
      log.push(`undo ${name}`);
    },
  };
}

describe('runSteps', () => {
  it('runs every step in order when none fails', async () => {
    const log: string[] = [];
    await runSteps([step(log, 'a'), step(log, 'b')], { what: 'test' });
    expect(log).toEqual(['run a', 'run b']);
  });

  it('undoes the completed steps in reverse order when one fails, and says so', async () => {
    const log: string[] = [];
    const error = await runSteps([step(log, 'a'), step(log, 'b'), step(log, 'c', { run: true }), step(log, 'd')], {
      what: 'deploy of x:1 to dev',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepsUndoneError);
    const undone = error as StepsUndoneError;
    expect(undone.kind).toBe('deploy-failed');
    expect(undone.message).toBe('deploy of x:1 to dev failed and was undone: step "c" failed: c broke');
    expect(undone.details()).toEqual({ step: 'c', undone: ['b', 'a'] });
    expect((undone.cause as Error).message).toBe('c broke');
    expect(log).toEqual(['run a', 'run b', 'undo b', 'undo a']);
  });

  it('skips steps without an undo', async () => {
    const log: string[] = [];
    const plain: Step = { name: 'plain', run: async () => void log.push('run plain') };
    const error = await runSteps([step(log, 'a'), plain, step(log, 'b', { run: true })], { what: 'test' }).catch((e: unknown) => e);
    expect((error as StepsUndoneError).undone).toEqual(['a']);
  });

  it('reports every undo that failed, keeps undoing the rest, and never says "was undone"', async () => {
    const log: string[] = [];
    const steps = [step(log, 'a', { undo: true }), step(log, 'b'), step(log, 'c', { undo: true }), step(log, 'd', { run: true })];
    const error = await runSteps(steps, { what: 'deploy of x:1 to dev' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndoFailedError);
    const failed = error as UndoFailedError;
    expect(failed.kind).toBe('deploy-undo-failed');
    expect(failed.exitCode).toBe(1);
    expect(failed.message).not.toMatch(/was undone/);
    expect(failed.message).toMatch(
      /^deploy of x:1 to dev failed and could not be fully undone: step "d" failed: d broke; then the undo of "c" \(undo of c broke\), "a" \(undo of a broke\) failed too/,
    );
    expect(failed.details()).toEqual({
      step: 'd',
      undone: ['b'],
      undoFailures: [
        { step: 'c', message: 'undo of c broke' },
        { step: 'a', message: 'undo of a broke' },
      ],
    });
    expect(log).toEqual(['run a', 'run b', 'run c', 'undo b']);
  });

  it('stops generating steps at the first failure (strategies generate them as they go)', async () => {
    const log: string[] = [];
    let generated = 0;
    async function* steps(): AsyncGenerator<Step> {
      for (const name of ['a', 'b', 'c']) {
        generated++;
        yield step(log, name, { run: name === 'b' });
      }
    }
    await expect(runSteps(steps(), { what: 'test' })).rejects.toBeInstanceOf(StepsUndoneError);
    expect(generated).toBe(2);
    expect(log).toEqual(['run a', 'undo a']);
  });

  it('logs each step and each undo', async () => {
    const lines: string[] = [];
    await runSteps([step([], 'a'), step([], 'b', { run: true })], { what: 'test', log: (l) => lines.push(l) }).catch(() => undefined);
    expect(lines).toEqual(['a', 'b', 'undo: a']);
  });
});
