import type { EnvironmentView } from '../../src/app/environments-view.js';
import type { ReleaseRecord } from '../../src/manifest/model.js';
import { RolloutActions } from '../parts/actions';
import { FiguresChart } from '../parts/figures-chart';
import { LiveRelease } from '../parts/live-release';
import { Empty, Loading } from '../parts/notice';
import { Toggles } from '../parts/toggles';
import { LastStop, type ServingRow, Traffic } from '../parts/traffic';
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
