import { UsageError, BakeError } from '../../util/errors.js';
import { retireStep, routeStep, startStep } from '../../deploy/operations.js';
import { runSteps, type Step } from '../../deploy/steps.js';
import { setReleaseState } from '../../release/release-state.js';
import type { Instance } from '../../router/route-table.js';
import { defineCommand } from '../command.js';
import { environmentConfig, liveAndPrevious, openRuntime, withEnvironmentLock } from '../environment-runtime.js';

export const promoteCommand = defineCommand({
  name: 'promote',
  summary: 'finish a canary or A/B deploy: the new release takes all traffic',
  help: `Usage: bake promote --env ENV

The release on probation (a canary or A/B deploy) gets the environment's full replica count,
the other releases' instances are drained and retired, and the release is committed.

JSON: {"env","release","state":"committed"}`,
  options: ['env'],
  service: 'refuse',
  positionals: false,
  async run(ctx, _p, values) {
    if (typeof values['env'] !== 'string') throw new UsageError('bake promote: --env ENV is required');
    const { ws, env } = await environmentConfig(ctx, values['env']);
    return withEnvironmentLock(ctx, env.name, async () => {
      const { live } = await liveAndPrevious(ws.dir, env.name, env.image);
      if (!live || live.state !== 'probation') throw new BakeError(`${env.name} has no release on probation to promote${live ? ` (release ${live.id} is ${live.state})` : ''}`);
      const rt = await openRuntime(ctx, ws, env);
      const target = await rt.targetOf(live);
      const instances = (await rt.router.state()).instances;
      const mine = instances.filter((i) => i.release === live.id);
      const others = instances.filter((i) => i.release !== live.id);
      const ctxDeploy = { engine: rt.engine, router: rt.router, blobs: rt.blobs, target, replicas: env.replicas, log: (l: string) => ctx.progress({ kind: 'done', message: l }) };
      const started: Instance[] = [];
      const steps: Step[] = [];
      for (let i = mine.length; i < env.replicas; i++) steps.push(startStep(ctxDeploy, target, started));
      steps.push(routeStep(ctxDeploy, `all traffic to release ${live.id}`, { weights: { [String(live.id)]: 1 } }));
      for (const instance of others) steps.push(retireStep(ctxDeploy, instance));
      steps.push(routeStep(ctxDeploy, 'route to every instance', {}));
      await runSteps(steps, ctxDeploy.log);
      await setReleaseState(ws.dir, env.name, live.id, 'committed', { env: ctx.env });
      return { json: { env: env.name, release: live.id, state: 'committed' }, human: [`promoted release ${live.id} in ${env.name}`] };
    });
  },
});
