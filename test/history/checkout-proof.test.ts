import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ancestryOf } from '../../src/history/ancestry.js';
import { checkoutAncestry, proveCheckout } from '../../src/history/checkout-proof.js';
import { gitRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { centralRepo, type Central, type TeamClone } from '../helpers/teams.js';

const tools = requireTools('git');

const lastTouching = (repo: Repo, path: string) => repo.git('log', '-1', '--format=%H', 'HEAD', '--', path);

// The proof asks whether the checkout's HEAD holds the recorded revision, and only then looks at
// the service's last commit to tell "behind" from "diverged".
describe.skipIf(tools.skip)('proving a checkout against the recorded revision', () => {
  let central: Central;
  let one: TeamClone;
  let two: TeamClone;
  let recorded: string;

  beforeAll(async () => {
    const seed = await gitRepo({ 'a/file': 'v1\n', 'b/file': 'v1\n' });
    central = await centralRepo(seed);
    await seed.cleanup();
    one = await central.clone('one');
    two = await central.clone('two');
    await writeFile(join(one.dir, 'a/file'), 'one\n');
    recorded = await one.commitAll('one changes a');
    expect(await one.push()).toBe(true);
  });
  afterAll(() => central?.cleanup());

  const checkout = async (repo: Repo, path: string) => ({
    top: repo.dir,
    head: await repo.git('rev-parse', 'HEAD'),
    revision: await lastTouching(repo, path),
  });

  it('a checkout that changed only another service, without the recorded revision, is behind (fetched) or missing', async () => {
    await writeFile(join(two.dir, 'b/file'), 'two\n');
    await two.commitAll('two changes b');
    expect(await checkoutAncestry(recorded, await checkout(two, 'a'))).toBe('missing');
    await two.git('fetch', '-q', 'origin');
    expect(await checkoutAncestry(recorded, await checkout(two, 'a'))).toBe('behind');
  });

  it('a checkout that changed the service too has diverged', async () => {
    await writeFile(join(two.dir, 'a/file'), 'two\n');
    await two.commitAll('two changes a as well');
    expect(await checkoutAncestry(recorded, await checkout(two, 'a'))).toBe('diverged');
  });

  it('a merge that keeps this side’s tree of the service follows, though its last commit is on the side branch', async () => {
    await two.git('merge', '-q', '-s', 'ours', '--no-edit', 'origin/main');
    const side = await checkout(two, 'a');
    expect(side.revision).not.toBe(side.head); // the merge did not touch a: git names team two's commit
    expect(await ancestryOf(two.dir, recorded, side.revision)).toBe('diverged'); // the last commit alone would refuse it
    expect(await checkoutAncestry(recorded, side)).toBe('descends');
    expect(await proveCheckout({ version: 2, revision: recorded }, side)).toEqual({ after: 2, ancestry: 'descends' });
  });

  it('anything follows a directory version, and a first version', async () => {
    const any = await checkout(one, 'a');
    expect(await proveCheckout({ version: 4, revision: null }, any)).toEqual({ after: 4, ancestry: 'descends' });
    expect(await proveCheckout(undefined, any)).toEqual({ after: 0, ancestry: 'descends' });
  });
});
