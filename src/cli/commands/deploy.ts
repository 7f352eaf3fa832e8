import { describeVector } from '../../manifest/vector.js';
import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { interruptible } from '../interruptible.js';
import { invoke } from '../invoke.js';

export const deployCommand = defineCommand({
  name: 'deploy',
  summary: 'release a build through the race gate and roll it out with a strategy',
  help: `Usage: bake deploy [<image>] --env ENV [--strategy S] [--build ID] [--batch N] [--allow-stale]
       bake deploy --env ENV --resume | --retry

Releases the build (the image's newest by default) through the race gate (exit 3 if stale,
regressing or conflicting: nothing starts), loads it into the Docker engine by digest, and rolls
it out behind the environment's router on 127.0.0.1. Two deploys to one environment never
overlap. A failed deploy is undone step by step and the release marked rolled-back; if an undo
fails too, the error (kind deploy-undo-failed) names it. A light build is its image digest plus
its pinned layers: a newer light build is a new release and rolls out like any other.

Strategies (default: the environment's, or recreate when nothing runs yet):
  rolling      replace --batch instances at a time (default: the environment's batch), new ones first
  blue-green   start all new instances, switch all traffic at once and return; with probation: N the
               old fleet stays up, idle, for N seconds (bake rollback flips back at once, bake promote
               retires it now); with preview: true the switch waits for bake promote
  canary       one new instance gets a share and the named cohorts; with canary.steps it ramps
               (e.g. 5 → 25 → 50 → 100), each step judged from the router's counts by
               canary.analysis: a failing canary is withdrawn, too little traffic pauses (inconclusive)
  ab           new instances beside the old, 50/50, sticky per x-bake-key; then promote or rollback
  recreate     start the new instances, then retire the old

Live toggles whose --requires the new versions do not meet are turned off first (reported), or
the deploy is refused with exit 3 when the toggle was set with --conflict refuse.
SIGINT/SIGTERM undo the steps done (kind interrupted), or, during a canary's analysis, leave it
paused and recorded: --resume continues it, bake rollback withdraws it. --retry starts the last
aborted or withdrawn release again as a new release of its build. A paused rollout that makes no
progress for progressDeadline seconds (default 600) is aborted by whoever touches it next.

Options:
  --env ENV         the environment (required)
  --strategy S      rolling, blue-green, canary, ab or recreate (default: the environment's)
  --build ID        deploy this build instead of the image's newest
  --batch N         rolling: instances replaced at a time
  --allow-stale     release a stale build anyway (recorded)
  --resume          continue a canary paused by an interruption or too little traffic
  --retry           start the last aborted or withdrawn release again, as a new release

Environment: BAKE_HEALTH_TIMEOUT_MS (default 30000) bounds how long a new instance may take to
become healthy.

JSON: {"env","image","build","release","digest","vector","strategy","state","router":{service:url},
       "probationUntil"?,"rollout"?:{"step","percent","paused"?,"analysis"?},"preview"?,"togglesOff"?}`,
  options: ['env', 'strategy', 'build', 'allow-stale', 'batch', 'resume', 'retry'],
  service: 'refuse',
  positionals: true,
  async run(ctx, positionals, values) {
    if (values.env === undefined) throw new UsageError('bake deploy: --env ENV is required');
    const env = values.env;
    const outcome = await interruptible(ctx, (c) =>
      invoke(c, 'deploy', {
        env,
        ...(positionals[0] !== undefined && { image: positionals[0] }),
        ...(values.strategy !== undefined && { strategy: values.strategy }),
        ...(values.build !== undefined && { build: values.build }),
        ...(values.batch !== undefined && { batch: values.batch }),
        allowStale: values['allow-stale'] === true,
        resume: values.resume === true,
        retry: values.retry === true,
      }),
    );
    return {
      json: outcome,
      human: [
        `${outcome.image}:${outcome.build} → ${outcome.env} (release ${outcome.release}, ${outcome.strategy}, ${outcome.state})`,
        `  ${describeVector(outcome.vector)}`,
        ...(outcome.probationUntil
          ? [`  old fleet kept, idle, until ${outcome.probationUntil} (bake rollback flips back; bake promote retires it)`]
          : []),
        ...(outcome.rollout?.paused ? [`  paused (${outcome.rollout.paused.reason}): ${outcome.rollout.paused.message}`] : []),
        ...(outcome.togglesOff ?? []).map((t) => `  toggle ${t} turned off first`),
        ...Object.entries(outcome.router).map(([s, url]) => `  ${s}: ${url}`),
        ...Object.entries(outcome.preview ?? {}).map(([s, url]) => `  preview ${s}: ${url}`),
      ],
    };
  },
});
