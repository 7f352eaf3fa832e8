import { BakeError, UsageError } from '../../util/errors.js';
import { retire } from '../../deploy/operations.js';
import { releaseImage } from '../../release/release.js';
import { setReleaseState } from '../../release/release-state.js';
import { defineCommand } from '../command.js';
import { runDeploy } from '../deploy-run.js';
import { environmentConfig, liveAndPrevious, openRuntime, withEnvironmentLock } from '../environment-runtime.js';

export const rollbackCommand = defineCommand({
  name: 'rollback',
  summary: 'return an environment to its previous release',
  help: `Usage: bake rollback --env ENV

A release on probation (canary, A/B) is withdrawn: its instances are drained and removed and the
routes go back. A committed release is replaced by redeploying the previous release's build as a
new release (blue-green, recorded with --rollback), so what runs is again the previous digests.

JSON: {"env","from","to","digest"}`,
  options: ['env'],
  service: 'refuse',
  positionals: false,
  async run(ctx, _p, values) {
    if (typeof values['env'] !== 'string') throw new UsageError('bake rollback: --env ENV is required');
    const { ws, env } = await environmentConfig(ctx, values['env']);
    return withEnvironmentLock(ctx, env.name, async () => {
      const { live, previous } = await liveAndPrevious(ws.dir, env.name, env.image);
      if (!live) throw new BakeError(`${env.name} runs nothing to roll back`);
      const rt = await openRuntime(ctx, ws, env);
      if (live.state === 'probation') {
        for (const instance of (await rt.router.state()).instances.filter((i) => i.release === live.id)) await retire(rt, instance);
        await rt.router.setRoutes({});
        await setReleaseState(ws.dir, env.name, live.id, 'rolled-back', { env: ctx.env });
        return { json: { env: env.name, from: live.id, to: previous?.id ?? null, digest: previous?.digest ?? null }, human: [`withdrew release ${live.id} from ${env.name}`] };
      }
      if (!previous) throw new BakeError(`${env.name} has no previous release to roll back to`);
      const release = await releaseImage(ws.dir, env.image, env.name, { build: previous.build, rollback: true, allowStale: true, acceptsDev: env.dev, initialState: 'installing', env: ctx.env });
      const outcome = await runDeploy(ctx, rt, release, 'blue-green');
      return {
        json: { env: env.name, from: live.id, to: outcome.release, build: previous.build, digest: outcome.digest },
        human: [`rolled ${env.name} back from release ${live.id} to build ${previous.build} (release ${outcome.release}) ${outcome.digest}`],
      };
    });
  },
});
