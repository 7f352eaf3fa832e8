import type { RefusedAttempt, VersionEntry, VersionsViewResult } from '../../src/app/versions-view.js';
import { bytes, shortDigest, shortRevision } from '../format';
import { Empty, Loading } from '../parts/notice';
import { Pager } from '../parts/pager';
import { When } from '../parts/when';
import { go, hrefOf, type Route } from '../route';
import { useView } from '../use-view';

/** Each service's versions, newest first, where each runs, and the refused commits drawn where they branched off. */
export function ServicesView({ route }: { route: Route }) {
  const chosen = route.params.get('service') ?? undefined;
  const offset = Number(route.params.get('offset') ?? 0) || 0;
  const summaries = useView('services', {});
  const service = chosen ?? summaries.data?.services[0]?.service;
  if (!summaries.data) return <Loading error={summaries.error} what="the services" />;
  if (summaries.data.services.length === 0) {
    return (
      <>
        <h1>Services</h1>
        <Empty>
          No version was committed yet: <code>bake commit --all</code> records one per service.
        </Empty>
      </>
    );
  }
  return (
    <>
      <h1>Services</h1>
      <div class="split">
        <ServiceList summaries={summaries.data.services} current={service} />
        {service && <Versions key={service} service={service} offset={offset} />}
      </div>
    </>
  );
}

function ServiceList({ summaries, current }: { summaries: VersionsViewResult['services']; current: string | undefined }) {
  return (
    <nav class="service-list" aria-label="Services">
      <label for="service-pick" class="narrow-only">
        Service
      </label>
      <select id="service-pick" class="narrow-only" value={current} onChange={(e) => go('services', { service: e.currentTarget.value })}>
        {summaries.map((s) => (
          <option key={s.service} value={s.service}>
            {s.service} (v{s.latest})
          </option>
        ))}
      </select>
      <ul class="wide-only">
        {summaries.map((s) => (
          <li key={s.service}>
            <a href={hrefOf('services', { service: s.service })} aria-current={s.service === current ? 'page' : undefined}>
              <span class="service-name">{s.service}</span> <span class="version">v{s.latest}</span>
            </a>
            <span class="muted">
              {' '}
              {s.versions} version{s.versions === 1 ? '' : 's'}
              {s.refusedAttempts > 0 && `, ${s.refusedAttempts} refused`}
            </span>
            {Object.keys(s.live).length > 0 && (
              <span class="live-in">
                {' '}
                {Object.entries(s.live)
                  .map(([env, v]) => `${env} v${v}`)
                  .join(', ')}
              </span>
            )}
          </li>
        ))}
      </ul>
    </nav>
  );
}

function Versions({ service, offset }: { service: string; offset: number }) {
  const { data, error } = useView('services', { service, offset });
  if (!data?.page || data.page.service !== service) return <Loading error={error} what={`the versions of ${service}`} />;
  const page = data.page;
  return (
    <section class="versions" aria-labelledby="versions-title">
      <h2 id="versions-title">{service}</h2>
      <div class="table-scroll">
        <table>
          <caption>Versions of {service}, newest first; refused commits where they branched off</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Revision</th>
              <th scope="col">Author</th>
              <th scope="col">Committed</th>
              <th scope="col">Recorded</th>
              <th scope="col">Live in</th>
            </tr>
          </thead>
          <tbody>
            {page.items.flatMap((v) => [
              ...page.attempts.filter((a) => a.version === v.version).map((a) => <Attempt key={`${a.at}-${a.candidate}`} attempt={a} />),
              <VersionRow key={v.version} v={v} />,
            ])}
          </tbody>
        </table>
      </div>
      <Pager
        total={page.total}
        offset={page.offset}
        limit={page.limit}
        noun="versions"
        hrefAt={(at) => hrefOf('services', { service, offset: at || undefined })}
      />
    </section>
  );
}

function VersionRow({ v }: { v: VersionEntry }) {
  return (
    <tr data-version={v.version}>
      <th scope="row">
        v{v.version}
        <span class="muted" title={v.digest}>
          {' '}
          {shortDigest(v.digest)} · {bytes(v.layerSize)}
        </span>
      </th>
      <td>
        <code title={v.revision ?? 'a plain directory'}>{v.source === 'git' ? shortRevision(v.revision) : 'directory'}</code>
      </td>
      <td>{v.author ?? '—'}</td>
      <td>
        <When at={v.created} />
      </td>
      <td>
        <When at={v.recordedAt} /> by {v.recordedBy}
      </td>
      <td>
        {v.liveIn.length > 0 ? (
          v.liveIn.map((env) => (
            <span key={env} class="badge">
              {env}
            </span>
          ))
        ) : (
          <span class="muted">—</span>
        )}
      </td>
    </tr>
  );
}

/** A commit the history gate refused: a branch off the version that was latest then. */
function Attempt({ attempt: a }: { attempt: RefusedAttempt }) {
  return (
    <tr class="attempt" data-refused={a.kind}>
      <th scope="row">
        <span aria-hidden="true">↳ </span>refused ({a.kind})
      </th>
      <td>
        <code title={a.candidate ?? 'a plain directory'}>{shortRevision(a.candidate)}</code>
      </td>
      <td colSpan={4}>
        branched off v{a.version}
        {a.revision ? ` (rev ${shortRevision(a.revision)})` : ''} — <When at={a.at} /> by {a.by}. <strong>Fix:</strong> {a.fix}
      </td>
    </tr>
  );
}
