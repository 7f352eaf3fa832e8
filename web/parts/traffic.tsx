import type { EnvironmentView } from '../../src/app/environments-view.js';
import type { ReleaseFigures } from '../../src/manifest/model.js';
import { count, ms, percent } from '../format';
import { When } from './when';

/** One release at an environment's router, with which build it is and its state from the records. */
export interface ServingRow {
  release: number;
  build: number | null;
  state: string | null;
  instances: number;
  share: number;
  figures: ReleaseFigures;
}

/** Each serving release's share and figures, the canary's against stable's. */
export function Traffic({ env, rows }: { env: string; rows: ServingRow[] }) {
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

export function Compare({ canary, stable }: { canary: ReleaseFigures; stable: ReleaseFigures }) {
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

/** Why a rollout stopped: the rule that fired and the figures at that moment. */
export function LastStop({ stop }: { stop: NonNullable<EnvironmentView['lastStop']> }) {
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
