import { describeVector } from '../../manifest/vector.js';
import type { StrategyName } from '../../config/types.js';
import { UsageError } from '../../util/errors.js';
import { releaseImage } from '../../release/release.js';
import { defineCommand } from '../command.js';
import { runDeploy } from '../deploy-run.js';
import { environmentConfig, openRuntime, withEnvironmentLock } from '../environment-runtime.js';

export const deployCommand = defineCommand({
  name: 'deploy',
  summary: 'release a build through the race gate and roll it out with a strategy',
  help: `Usage: bake deploy [<image>] --env ENV [--strategy S] [--build ID] [--allow-stale]

Releases the build (the image's newest by default) through the race gate (exit 3 if stale,
regressing or conflicting: nothing starts), loads it into the Docker engine by digest, and rolls
it out behind the environment's router on 127.0.0.1. Two deploys to one environment never
overlap. A failed deploy is undone step by step and the release marked rolled-back.

Strategies (default: the environment's, or recreate when nothing runs yet):
  rolling      replace --batch instances at a time, new ones first, health-gated
  blue-green   start all new instances, switch all traffic at once, keep the old through probation
  canary       one new instance gets a share of traffic and the named cohorts; then promote or rollback
  ab           new instances beside the old, traffic split and sticky per x-bake-key; then promote or rollback
  recreate     start the new instances, then retire the old

JSON: {"env","image","build","release","digest","vector","strategy","state","router":{service:url}}`,
  options: ['env', 'strategy', 'build', 'allow-stale'],
  service: 'refuse',
  positionals: true,
  async run(ctx, positionals, values) {
    if (typeof values['env'] !== 'string') throw new UsageError('bake deploy: --env ENV is required');
    const { ws, env } = await environmentConfig(ctx, values['env']);
    const image = positionals[0] ?? env.image;
    if (image !== env.image) throw new UsageError(`bake deploy: environment ${env.name} runs ${env.image}, not ${image}`);
    const strategy = values['strategy'] ?? env.strategy;
    const buildRaw = values['build'];
    const outcome = await withEnvironmentLock(ctx, env.name, async () => {
      const release = await releaseImage(ws.dir, image, env.name, {
        ...(buildRaw !== undefined && { build: buildRaw }),
        allowStale: values['allow-stale'] === true,
        acceptsDev: env.dev,
        initialState: 'installing',
        env: ctx.env,
        progress: ctx.progress,
      });
      const rt = await openRuntime(ctx, ws, env);
      return runDeploy(ctx, rt, release, strategy);
    });
    return {
      json: outcome,
      human: [
        `${outcome.image}:${outcome.build} → ${outcome.env} (release ${outcome.release}, ${outcome.strategy}, ${outcome.state})`,
        `  ${describeVector(outcome.vector)}`,
        ...Object.entries(outcome.router).map(([s, url]) => `  ${s}: ${url}`),
      ],
    };
  },
});
