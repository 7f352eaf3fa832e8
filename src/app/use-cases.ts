import type { AppContext } from './context.js';

/**
 * Every use case by name, loaded on demand (a command pays only for the modules it uses). The CLI
 * and the service dispatch through this table, so both run exactly the same code. Each entry is
 * `(ctx, options) => Promise<result>`: typed options in, the typed result `--json` prints out.
 */
const loaders = {
  status: async () => (await import('./status.js')).status,
  log: async () => (await import('./log.js')).log,
  commit: async () => (await import('./commit.js')).commit,
  latest: async () => (await import('./latest.js')).latest,
  build: async () => (await import('./build.js')).build,
  'hand-off': async () => (await import('./hand-off.js')).handOff,
  release: async () => (await import('./release.js')).release,
  push: async () => (await import('./push.js')).push,
  gc: async () => (await import('./gc.js')).gc,
  deploy: async () => (await import('./deploy.js')).deploy,
  promote: async () => (await import('./promote.js')).promote,
  rollback: async () => (await import('./rollback.js')).rollback,
  up: async () => (await import('./up.js')).up,
  down: async () => (await import('./down.js')).down,
  verify: async () => (await import('./verify.js')).verify,
  toggle: async () => (await import('./toggle.js')).toggle,
  upgrade: async () => (await import('./upgrade.js')).upgrade,
  abort: async () => (await import('./abort.js')).abort,
  settle: async () => (await import('./settle.js')).settle,
  revoke: async () => (await import('./revoke.js')).revoke,
  unrevoke: async () => (await import('./unrevoke.js')).unrevoke,
  migrate: async () => (await import('./migrate.js')).migrate,
  export: async () => (await import('./export.js')).exportManifest,
  // The dashboard's read models (bake serve's page): paged, read-only.
  'manifest-generation': async () => (await import('./manifest-generation.js')).manifestGeneration,
  'environments-view': async () => (await import('./environments-view.js')).environmentsView,
  'versions-view': async () => (await import('./versions-view.js')).versionsView,
  'builds-view': async () => (await import('./builds-view.js')).buildsView,
  'refusals-view': async () => (await import('./refusals-view.js')).refusalsView,
  timeline: async () => (await import('./timeline.js')).timeline,
  'router-figures': async () => (await import('./router-figures.js')).routerFigures,
};

type Loaders = typeof loaders;
export type UseCaseName = keyof Loaders;
type UseCase<N extends UseCaseName> = Awaited<ReturnType<Loaders[N]>>;
export type UseCaseOptions<N extends UseCaseName> = NonNullable<Parameters<UseCase<N>>[1]>;
export type UseCaseResult<N extends UseCaseName> = Awaited<ReturnType<UseCase<N>>>;

export function isUseCaseName(name: string): name is UseCaseName {
  return Object.hasOwn(loaders, name);
}

/** Runs one use case in this process. */
export async function runUseCase<N extends UseCaseName>(ctx: AppContext, name: N, options: UseCaseOptions<N>): Promise<UseCaseResult<N>> {
  const useCase = (await loaders[name]()) as (ctx: AppContext, options: UseCaseOptions<N>) => Promise<UseCaseResult<N>>;
  return useCase(ctx, options);
}
