import { useState } from 'preact/hooks';
import type { EnvironmentView } from '../../src/app/environments-view.js';
import type { ReleaseFigures, ReleaseRecord } from '../../src/manifest/model.js';
import { ms, percent, count } from '../format';
import { RolloutActions, OutcomeLine, useActions } from '../parts/actions';
import { FiguresChart } from '../parts/figures-chart';
import { Empty, Loading } from '../parts/notice';
import { Vector } from '../parts/vector';
import { When } from '../parts/when';
import { hrefOf } from '../route';
import { useApp } from '../state';
import { useView } from '../use-view';

/** Every environment: what is live, on what share of traffic, how it is doing against stable, and what can be done. */
export function EnvironmentsView() {
  const { data, error } = useView('environments', {});
  if (!data) return <Loading error={error} what="the environments" />;
  return (
    <>
      <h1>Environments</h1>
      {data.configProblem && (
        <p class="problem" role="alert">
          bake.yaml could not be read, so only recorded environments are shown: {data.configProblem}
        </p>
      )}
      {data.environments.length === 0 && (
        <Empty>
          No environment yet: declare one under <code>environments:</code> in bake.yaml, or run <code>bake release IMAGE --env ENV</code>.
        </Empty>
      )}
      {data.environments.map((env) => (
        <Environment key={env.name} env={env} />
      ))}
    </>
  );
}

interface ServingRow {
  release: number;
  build: number | null;
  state: string | null;
  instances: number;
  share: number;
  figures: ReleaseFigures;
}

function Environment({ env }: { env: EnvironmentView }) {
  const { figures } = useApp();
  const samples = figures.get(env.name) ?? [];
  const records = [...env.live, ...env.previous];
  const latest = samples.at(-1);
  // What the router sees arrives live; the records say which build and state each release is.
  const serving: ServingRow[] | undefined = latest?.running
    ? latest.serving.map((s) => {
        const record = records.find((r) => r.id === s.release);
        return { ...s, build: record?.build ?? null, state: record?.state ?? null };
      })
    : env.serving;
  const probation = env.live.some((r) => r.state === 'probation');
  const id = `env-${env.name}`;
  return (
    <section class="card environment" aria-labelledby={id} data-env={env.name}>
      <header class="card-head">
        <h2 id={id}>{env.name}</h2>
        {env.declared && (
          <p class="muted">
            {env.declared.image} · {env.declared.strategy} · {env.declared.replicas} replica{env.declared.replicas === 1 ? '' : 's'}
          </p>
        )}
        {env.refusals > 0 && (
          <p>
            <a href={hrefOf('refusals')}>
              {env.refusals} refused release{env.refusals === 1 ? '' : 's'}
            </a>
          </p>
        )}
      </header>
      {env.live.length === 0 ? (
        <Empty>Nothing is live here yet.</Empty>
      ) : (
        env.live.map((r) => <LiveRelease key={r.id} env={env} release={r} serving={serving} />)
      )}
      {serving && serving.length > 0 && <Traffic env={env.name} rows={serving} />}
      {latest?.running && samples.length > 2 && <FiguresChart env={env.name} samples={samples} />}
      {env.lastStop && <LastStop stop={env.lastStop} />}
      {env.pending && env.pending.length > 0 && (
        <div class="pending">
          <h3>Waiting</h3>
          <ul>
            {env.pending.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </div>
      )}
      {env.live.length > 0 && <RolloutActions env={env.name} probation={probation} live={env.live.length > 0} />}
      {latest?.running && <Toggles env={env.name} toggles={latest.toggles} />}
      {env.previous.length > 0 && <Previous releases={env.previous} total={env.previousTotal} />}
    </section>
  );
}

function LiveRelease({ env, release: r, serving }: { env: EnvironmentView; release: ReleaseRecord; serving: ServingRow[] | undefined }) {
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

/** Each serving release's share and figures, the canary's against stable's. */
function Traffic({ env, rows }: { env: string; rows: ServingRow[] }) {
  const stable = rows.find((r) => r.state === 'committed') ?? rows.find((r) => r.state !== 'probation');
  return (
    <div class="table-scroll">
      <table class="traffic">
        <caption>Traffic in {env} now (router figures)</caption>
        <thead>
          <tr>
            <th scope="col">Release</th>
            <th scope="col">State</th>
            <th scope="col">Instances</th>
            <th scope="col">Share</th>
            <th scope="col">Requests</th>
            <th scope="col">Errors</th>
            <th scope="col">p50</th>
            <th scope="col">p99</th>
            <th scope="col">vs stable</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.release} data-release={r.release}>
              <th scope="row">
                {r.release}
                {r.build !== null && <span class="muted"> (build {r.build})</span>}
              </th>
              <td>{r.state ?? '—'}</td>
              <td>{r.instances}</td>
              <td>
                <meter min={0} max={100} value={r.share} aria-label={`share of release ${r.release}`}>
                  {r.share}%
                </meter>{' '}
                <span class="share-value">{r.share}%</span>
              </td>
              <td class="requests">{count(r.figures.requests)}</td>
              <td>{percent(r.figures.errorRate)}</td>
              <td>{ms(r.figures.p50)}</td>
              <td>{ms(r.figures.p99)}</td>
              <td>{stable && stable.release !== r.release ? versus(r.figures, stable.figures) : r === stable ? 'stable' : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function versus(f: ReleaseFigures, stable: ReleaseFigures): string {
  const errors = `errors ${signed((f.errorRate - stable.errorRate) * 100, ' pt')}`;
  const p99 = f.p99 !== null && stable.p99 !== null ? `, p99 ${signed(f.p99 - stable.p99, ' ms')}` : '';
  return `${errors}${p99}`;
}

function signed(n: number, unit: string): string {
  const rounded = Math.abs(n) < 10 ? n.toFixed(1) : Math.round(n).toString();
  return `${n > 0 ? '+' : ''}${rounded}${unit}`;
}

function Compare({ canary, stable }: { canary: ReleaseFigures; stable: ReleaseFigures }) {
  return (
    <div class="table-scroll">
      <table class="compare">
        <caption>Canary against stable</caption>
        <thead>
          <tr>
            <th scope="col" />
            <th scope="col">Requests</th>
            <th scope="col">Error rate</th>
            <th scope="col">p50</th>
            <th scope="col">p99</th>
          </tr>
        </thead>
        <tbody>
          {(
            [
              ['canary', canary],
              ['stable', stable],
            ] as const
          ).map(([name, f]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{count(f.requests)}</td>
              <td>{percent(f.errorRate)}</td>
              <td>{ms(f.p50)}</td>
              <td>{ms(f.p99)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function LastStop({ stop }: { stop: NonNullable<EnvironmentView['lastStop']> }) {
  return (
    <div class="stopped" role="note">
      <h3>
        Release {stop.release} stopped: {stop.reason}
      </h3>
      <p>
        {stop.rule && (
          <>
            Rule that fired: <strong>{stop.rule}</strong>.{' '}
          </>
        )}
        {stop.message} — <When at={stop.at} /> by {stop.by}
      </p>
      {stop.figures && <Compare canary={stop.figures.canary} stable={stop.figures.stable} />}
    </div>
  );
}

function Toggles({ env, toggles }: { env: string; toggles: Record<string, boolean> }) {
  const [outcome, run] = useActions();
  const [feature, setFeature] = useState('');
  const names = Object.keys(toggles).sort();
  const busy = outcome.state === 'running';
  const field = `toggle-${env}`;
  return (
    <div class="toggles">
      <h3>Feature toggles</h3>
      {names.length === 0 ? (
        <p class="muted">No toggle is set.</p>
      ) : (
        <ul>
          {names.map((name) => (
            <li key={name}>
              <code>{name}</code> is <strong>{toggles[name] ? 'on' : 'off'}</strong>{' '}
              <button type="button" disabled={busy} onClick={() => void run({ action: 'toggle', env, feature: name, on: !toggles[name] })}>
                Turn {toggles[name] ? 'off' : 'on'}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (feature.trim()) void run({ action: 'toggle', env, feature: feature.trim(), on: true });
        }}
      >
        <label for={field}>Feature</label>
        <input id={field} name="feature" value={feature} onInput={(e) => setFeature(e.currentTarget.value)} autocomplete="off" />
        <button type="submit" disabled={busy || !feature.trim()}>
          Turn on
        </button>
      </form>
      <OutcomeLine outcome={outcome} />
    </div>
  );
}

function Previous({ releases, total }: { releases: ReleaseRecord[]; total: number }) {
  const env = releases[0]?.env ?? '';
  return (
    <details class="previous">
      <summary>
        Earlier releases ({total}
        {total > releases.length && `, the newest ${releases.length} here; the rest in History`})
      </summary>
      <div class="table-scroll">
        <table>
          <caption>
            Earlier releases, newest first (<a href={hrefOf('history', { env })}>every change in {env}</a>)
          </caption>
          <thead>
            <tr>
              <th scope="col">Release</th>
              <th scope="col">Build</th>
              <th scope="col">State</th>
              <th scope="col">Versions</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {releases.map((r) => (
              <tr key={r.id}>
                <th scope="row">{r.id}</th>
                <td>
                  <a href={hrefOf('builds', { image: r.image, build: r.build })}>{`${r.image}:${r.build}`}</a>
                </td>
                <td>{r.state}</td>
                <td>
                  <Vector vector={r.vector} />
                </td>
                <td>
                  <When at={r.at} /> by {r.by}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
