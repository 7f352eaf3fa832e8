import { buildImage } from '../../image/build-image.js';
import { describeVector } from '../../manifest/vector.js';
import { commitServices } from '../../commit/commit-services.js';
import { loadRecipe } from '../../config/recipe.js';
import { UsageError } from '../../util/errors.js';
import { releaseImage } from '../../release/release.js';
import { defineCommand } from '../command.js';
import { runDeploy } from '../deploy-run.js';
import { environmentConfig, openRuntime, withEnvironmentLock } from '../environment-runtime.js';

export const upCommand = defineCommand({
  name: 'up',
  summary: 'bring an environment up locally: bake, release, run behind its router',
  help: `Usage: bake up [ENV] [--dev]

Like vagrant up or kitchen converge, for a production-like environment on the local Docker
engine: commits the image's services, bakes it, releases it through the race gate and rolls it
out with the environment's strategy behind its router on 127.0.0.1. Running it again updates the
environment. --dev bakes from the working trees, uncommitted edits included, and marks the image
dev; only environments with dev: true accept it. ENV may be omitted when there is one.

Then: bake verify [ENV] runs its test command; bake down [ENV] removes it.

JSON: the deploy's {"env","image","build","release","digest","vector","strategy","state","router"}`,
  options: ['dev'],
  service: 'refuse',
  positionals: true,
  async run(ctx, positionals, values) {
    if (positionals.length > 1) throw new UsageError('bake up takes at most one environment');
    const { ws, env } = await environmentConfig(ctx, positionals[0]);
    const recipe = await loadRecipe(ws, env.image);
    const dev = values['dev'] === true;
    if (!dev) {
      const services = recipe.services.map((n) => ws.services.get(n)).filter((s) => s !== undefined);
      await commitServices(ws, services, { env: ctx.env, progress: ctx.progress });
    }
    const build = await buildImage(ws, recipe, { dev, env: ctx.env, progress: ctx.progress });
    const outcome = await withEnvironmentLock(ctx, env.name, async () => {
      const release = await releaseImage(ws.dir, env.image, env.name, { build: build.build, acceptsDev: env.dev, initialState: 'installing', env: ctx.env, progress: ctx.progress });
      if (release.unchanged) {
        const rt = await openRuntime(ctx, ws, env);
        if ((await rt.router.state()).instances.length > 0) {
          return { env: env.name, image: env.image, build: release.build, release: release.release, digest: release.digest, vector: release.vector, strategy: env.strategy, state: 'committed' as const, router: Object.fromEntries(Object.entries(rt.listeners).map(([s, p]) => [s, `http://127.0.0.1:${p}`])) };
        }
        return runDeploy(ctx, rt, release, 'recreate');
      }
      return runDeploy(ctx, await openRuntime(ctx, ws, env), release, env.strategy);
    });
    return {
      json: { ...outcome, dev },
      human: [
        `${env.name} is up: ${outcome.image}:${outcome.build}${dev ? ' (dev)' : ''} ${describeVector(outcome.vector)}`,
        ...Object.entries(outcome.router).map(([s, url]) => `  ${s}: ${url}`),
      ],
    };
  },
});
