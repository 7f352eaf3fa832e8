import type { EnvironmentView } from '../../src/app/environments-view.js';
import type { ReleaseRecord } from '../../src/manifest/model.js';
import { hrefOf } from '../route';
import { Compare, type ServingRow } from './traffic';
import { Vector } from './vector';
import { When } from './when';

/** A live release: what it runs, its state and probation, where its canary stands, and its last judgement. */
export function LiveRelease({
  env,
  release: r,
  serving,
}: {
  env: EnvironmentView;
  release: ReleaseRecord;
  serving: ServingRow[] | undefined;
}) {
  const share = serving?.find((s) => s.release === r.id)?.share;
  const steps = env.declared?.canary.steps ?? [];
  return (
    <article class="release" aria-label={`Release ${r.id} of ${r.image}`}>
      <h3>
        Release {r.id} · <a href={hrefOf('builds', { image: r.image, build: r.build })}>{`${r.image}:${r.build}`}</a>{' '}
        <span class={`state state-${r.state}`}>{r.state}</span>
        {share !== undefined && <span class="share"> · {share}% of traffic</span>}
      </h3>
      <dl class="facts">
        <dt>Runs</dt>
        <dd>
          <Vector vector={r.vector} />
        </dd>
        <dt>Released</dt>
        <dd>
          <When at={r.at} /> by {r.by}
          {r.strategy && <> · {r.strategy}</>}
        </dd>
        {r.probationUntil && r.state === 'probation' && (
          <>
            <dt>Probation</dt>
            <dd>
              ends <When at={r.probationUntil} />
            </dd>
          </>
        )}
        {r.rollout && (
          <>
            <dt>Rollout</dt>
            <dd>
              {r.rollout.percent}% of traffic
              {r.rollout.paused && (
                <>
                  {' '}
                  · paused ({r.rollout.paused.reason}) <When at={r.rollout.paused.at} />: {r.rollout.paused.message}
                </>
              )}
            </dd>
          </>
        )}
        {r.overrides.length > 0 && (
          <>
            <dt>Overrode</dt>
            <dd>{r.overrides.map((o) => `${o.kind} ${o.service} v${o.have}→v${o.want} (${o.flag})`).join('; ')}</dd>
          </>
        )}
      </dl>
      {steps.length > 0 && r.rollout && (
        <ol class="steps" aria-label="Canary steps">
          {steps.map((s, i) => (
            <li
              key={i}
              class={i === r.rollout?.step ? 'step-now' : i < (r.rollout?.step ?? 0) ? 'step-done' : undefined}
              aria-current={i === r.rollout?.step ? 'step' : undefined}
            >
              {s.percent}%{s.pause !== undefined ? ` for ${s.pause} s` : ''}
            </li>
          ))}
        </ol>
      )}
      {r.rollout?.analysis && (
        <div class="analysis">
          <p>
            Last judgement: <strong>{r.rollout.analysis.verdict}</strong> — {r.rollout.analysis.message} (
            <When at={r.rollout.analysis.at} />)
          </p>
          <Compare canary={r.rollout.analysis.canary} stable={r.rollout.analysis.stable} />
        </div>
      )}
    </article>
  );
}
