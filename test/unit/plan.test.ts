import { describe, expect, it } from 'vitest';
import type { WorkspaceConfig } from '../../src/config/types.js';
import { planBuild } from '../../src/image/plan.js';
import { emptyManifest, type CommittedVersion, type VersionManifest } from '../../src/manifest/model.js';
import { InputError } from '../../src/util/errors.js';
import { recipe, service, workspace } from './image-fixtures.js';

// planBuild is pure: in-memory workspace, recipe and manifest, no git, store or Docker.

const WS: WorkspaceConfig = workspace(['catalog', 'cart', 'web'].map((name) => service(name)));

/** Version n of a service, committed at `created` in revision `revision`. */
function version(name: string, n: number, created: string, revision = `${name}-rev-${n}`): CommittedVersion {
  const hex = `${name.length.toString(16)}${n.toString(16)}`.padStart(64, '0');
  return {
    version: n,
    digest: `sha256:${hex}`,
    layer: { digest: `sha256:${hex}`, size: 100 + n, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
    install: `/srv/${name}`,
    source: 'git',
    revision,
    created,
    recordedAt: created,
    recordedBy: 'test@host',
    generation: n,
  };
}

/** A manifest where each service has the given versions (their commit times, oldest first). */
function manifest(history: Record<string, string[]>): VersionManifest {
  const m = emptyManifest();
  for (const [name, times] of Object.entries(history)) m.services[name] = { versions: times.map((t, i) => version(name, i + 1, t)) };
  return m;
}

const HISTORY = manifest({
  catalog: ['2026-01-01T00:00:00Z', '2026-01-03T00:00:00Z'],
  cart: ['2026-01-02T00:00:00Z'],
  web: ['2026-01-01T12:00:00Z', '2026-01-02T12:00:00Z', '2026-01-04T00:00:00Z'],
});
const NO_EPOCH = { env: {} };

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).problems;
  }
  throw new Error('expected an InputError');
}

describe('planBuild', () => {
  it('pins each service of the recipe to its latest committed version, in recipe order', () => {
    const plan = planBuild(WS, recipe(['web', 'catalog']), HISTORY, NO_EPOCH);
    expect(plan.image).toBe('shop');
    expect(plan.level).toBe('heavy');
    expect(plan.vector).toEqual({ web: 3, catalog: 2 });
    expect(plan.services.map((s) => [s.name, s.version.version, s.config.install])).toEqual([
      ['web', 3, '/srv/web'],
      ['catalog', 2, '/srv/catalog'],
    ]);
  });

  it('takes the clock and revision from the newest version it contains', () => {
    const plan = planBuild(WS, recipe(['catalog', 'cart']), HISTORY, NO_EPOCH);
    expect(plan.created).toBe(Date.parse('2026-01-03T00:00:00Z') / 1000);
    expect(plan.revision).toBe('catalog-rev-2');
  });

  it('lets SOURCE_DATE_EPOCH override the clock, and refuses one that is not a number', () => {
    expect(planBuild(WS, recipe(['cart']), HISTORY, { env: { SOURCE_DATE_EPOCH: '1700000000' } }).created).toBe(1700000000);
    const problems = problemsOf(() => planBuild(WS, recipe(['cart']), HISTORY, { env: { SOURCE_DATE_EPOCH: 'yesterday' } }));
    expect(problems).toMatchObject([{ field: 'SOURCE_DATE_EPOCH' }]);
  });

  it('breaks a tie between equal commit times by revision, whatever the recipe order', () => {
    const tied = manifest({ catalog: ['2026-02-01T00:00:00Z'], cart: ['2026-02-01T00:00:00Z'] });
    const a = planBuild(WS, recipe(['catalog', 'cart']), tied, NO_EPOCH);
    const b = planBuild(WS, recipe(['cart', 'catalog']), tied, NO_EPOCH);
    expect(a.revision).toBe('cart-rev-1');
    expect(b.revision).toBe(a.revision);
    expect(b.created).toBe(a.created);
  });

  it('pins given versions instead of the latest, and overrides replace versions outright', () => {
    expect(planBuild(WS, recipe(['catalog', 'web']), HISTORY, { ...NO_EPOCH, pins: { catalog: 1 } }).vector).toEqual({
      catalog: 1,
      web: 3,
    });
    const dev = version('web', 99, '2026-03-01T00:00:00Z', 'working-tree');
    const plan = planBuild(WS, recipe(['catalog', 'web']), HISTORY, { ...NO_EPOCH, overrides: { web: dev } });
    expect(plan.vector).toEqual({ catalog: 2, web: 99 });
    expect(plan.services[1]?.version).toBe(dev);
    expect(plan.revision).toBe('working-tree');
  });

  it('reports every service without a committed version at once, with the command that fixes it', () => {
    const partial = manifest({ cart: ['2026-01-02T00:00:00Z'] });
    const problems = problemsOf(() => planBuild(WS, recipe(['catalog', 'cart', 'web']), partial, NO_EPOCH));
    expect(problems).toEqual([
      {
        file: '/ws/recipes/shop.yaml',
        field: 'services',
        message: 'service catalog has no committed version yet',
        fix: 'run: bake commit catalog',
      },
      {
        file: '/ws/recipes/shop.yaml',
        field: 'services',
        message: 'service web has no committed version yet',
        fix: 'run: bake commit web',
      },
    ]);
  });

  it('names the pinned version that does not exist', () => {
    const problems = problemsOf(() => planBuild(WS, recipe(['cart']), HISTORY, { ...NO_EPOCH, pins: { cart: 4 } }));
    expect(problems).toMatchObject([{ message: 'service cart has no committed version 4', fix: 'run: bake commit cart' }]);
  });

  it('treats a service missing from bake.yaml like one never committed', () => {
    const problems = problemsOf(() => planBuild(WS, recipe(['search']), manifest({ search: ['2026-01-01T00:00:00Z'] }), NO_EPOCH));
    expect(problems).toMatchObject([{ message: 'service search has no committed version yet' }]);
  });

  it('is a plain value: the same inputs give an equal plan, and nothing in them is changed', () => {
    const before = structuredClone(HISTORY);
    const a = planBuild(WS, recipe(['web', 'cart'], { bake: 'light' }), HISTORY, NO_EPOCH);
    const b = planBuild(WS, recipe(['web', 'cart'], { bake: 'light' }), HISTORY, NO_EPOCH);
    expect(a).toEqual(b);
    expect(a.level).toBe('light');
    expect(HISTORY).toEqual(before);
  });
});
