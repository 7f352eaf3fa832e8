import type { AppContext } from './context.js';

/**
 * Every use case by name, loaded on demand (a command pays only for the modules it uses). The CLI
 * and the service dispatch through this table, so both run exactly the same code. Each entry is
 * `(ctx, options) => Promise<result>`: typed options in, the typed result `--json` prints out.
 */
const loaders = {
  status: async () => (await import('./status.js')).status,
  log: async () => (await import('./log.js')).log,
};

type Loaders = typeof loaders;
export type UseCaseName = keyof Loaders;
type UseCase<N extends UseCaseName> = Awaited<ReturnType<Loaders[N]>>;
export type UseCaseOptions<N extends UseCaseName> = NonNullable<Parameters<UseCase<N>>[1]>;
export type UseCaseResult<N extends UseCaseName> = Awaited<ReturnType<UseCase<N>>>;

/** The use cases `bake serve` runs for remote callers; the others are local by nature. */
export const REMOTE_USE_CASES: ReadonlySet<string> = new Set(['commit', 'build', 'release', 'push', 'status', 'log', 'gc']);

/** The use cases a read token may run. */
export const READ_USE_CASES: ReadonlySet<string> = new Set(['status', 'log']);

export function isUseCaseName(name: string): name is UseCaseName {
  return Object.hasOwn(loaders, name);
}

/** Runs one use case in this process. */
export async function runUseCase<N extends UseCaseName>(ctx: AppContext, name: N, options: UseCaseOptions<N>): Promise<UseCaseResult<N>> {
  const useCase = (await loaders[name]()) as (ctx: AppContext, options: UseCaseOptions<N>) => Promise<UseCaseResult<N>>;
  return useCase(ctx, options);
}
