import type { RefusalEntry, RevokedEntry } from '../../src/app/refusals-view.js';
import { shortRevision } from '../format';
import { Empty, Loading } from '../parts/notice';
import { Pager } from '../parts/pager';
import { When } from '../parts/when';
import { hrefOf, type Route } from '../route';
import { useView } from '../use-view';

/** Every revoked version and what still holds it; every refused commit and release, in plain words, with the fix. */
export function RefusalsView({ route }: { route: Route }) {
  const offset = Number(route.params.get('offset') ?? 0) || 0;
  const { data, error } = useView('refusals', { offset });
  if (!data) return <Loading error={error} what="the refusals" />;
  return (
    <>
      <h1>Refusals and revocations</h1>
      <section aria-labelledby="revoked-title">
        <h2 id="revoked-title">Revoked versions</h2>
        {data.revoked.length === 0 ? (
          <p class="muted">No version is revoked.</p>
        ) : (
          <ul class="revoked">
            {data.revoked.map((r) => (
              <Revoked key={`${r.service}@${r.version}`} r={r} />
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="refused-title">
        <h2 id="refused-title">Refused commits and releases</h2>
        {data.page.total === 0 ? (
          <Empty>Nothing was refused: no race, no stale or regressing release, no commit from a checkout behind.</Empty>
        ) : (
          <ol class="refusals">
            {data.page.items.map((r) => (
              <Refusal key={`${r.at}-${r.service}-${r.kind}-${r.build}`} r={r} />
            ))}
          </ol>
        )}
        <Pager
          total={data.page.total}
          offset={data.page.offset}
          limit={data.page.limit}
          noun="refusals"
          hrefAt={(at) => hrefOf('refusals', { offset: at || undefined })}
        />
      </section>
    </>
  );
}

const KIND_WORDS: Record<string, string> = {
  stale: 'stale: a service in it has a newer committed version',
  regression: 'regression: it would move a service backwards',
  conflict: 'conflict: its versions are incomparable with what runs (a deployment race)',
  dev: 'a --dev build, for an environment that takes only committed versions',
  behind: 'behind: the checkout does not have the latest version yet',
  diverged: 'diverged: the checkout branched off an older version',
  moved: 'moved: the recorded revision is no longer in the checkout',
};

function Refusal({ r }: { r: RefusalEntry }) {
  const what = r.action === 'release' ? `Release of ${r.image}:${r.build} to ${r.env}` : `Commit of ${r.service}`;
  return (
    <li class="card refusal" data-kind={r.kind}>
      <h3>
        {what} refused — <span class="state state-refused">{r.kind}</span>
      </h3>
      <p class="plain">{KIND_WORDS[r.kind] ?? r.kind}.</p>
      <dl class="facts">
        <dt>Service</dt>
        <dd>
          <a href={hrefOf('services', { service: r.service })}>{r.service}</a>
        </dd>
        {r.have !== null && r.want !== null && r.kind !== 'dev' && (
          <>
            <dt>Versions</dt>
            <dd class="versions-pair">
              <Versions r={r} />
            </dd>
          </>
        )}
        {r.action === 'commit' && (
          <>
            <dt>Revisions</dt>
            <dd>
              tried <code>{shortRevision(r.candidate)}</code> against the latest <code>{shortRevision(r.revision)}</code>
            </dd>
          </>
        )}
        {r.newer && (
          <>
            <dt>Newer version</dt>
            <dd>
              v{r.newer.version} committed by {r.newer.author ?? r.newer.recordedBy} <When at={r.newer.recordedAt} />
            </dd>
          </>
        )}
        <dt>Refused</dt>
        <dd>
          <When at={r.at} /> for {r.by}
        </dd>
        {r.raced.length > 1 && (
          <>
            <dt>Raced</dt>
            <dd>
              {r.raced.map((b, i) => (
                <span key={`${b.image}:${b.build}`}>
                  {i > 0 && ' with '}
                  <a href={hrefOf('builds', { image: b.image, build: b.build })}>{`${b.image}:${b.build}`}</a> ({b.role})
                </span>
              ))}
            </dd>
          </>
        )}
        <dt>Fix</dt>
        <dd class="fix">{r.fix}</dd>
      </dl>
      <details>
        <summary>What the command line said</summary>
        <p class="message">{r.message}</p>
      </details>
    </li>
  );
}

/** Both versions of a refused release, said the way the gate judged them. */
function Versions({ r }: { r: RefusalEntry }) {
  if (r.kind === 'stale') {
    return (
      <>
        the build holds <strong>v{r.have}</strong>; the latest is <strong>v{r.want}</strong>
      </>
    );
  }
  if (r.kind === 'regression' || r.kind === 'conflict') {
    return (
      <>
        {r.env} runs <strong>v{r.have}</strong>; the build holds <strong>v{r.want}</strong>
      </>
    );
  }
  return (
    <>
      have <strong>v{r.have}</strong>, want <strong>v{r.want}</strong>
    </>
  );
}

function Revoked({ r }: { r: RevokedEntry }) {
  return (
    <li class="card revoked-version">
      <h3>
        <a href={hrefOf('services', { service: r.service })}>{r.service}</a> v{r.version} is revoked
      </h3>
      <p>
        {r.reason || 'no reason given'} — <When at={r.at} /> by {r.by}
        {r.via !== undefined && ` (as an ancestor of v${r.via})`}.{' '}
        {r.use !== null ? `Use v${r.use} instead.` : 'No newer version to use yet: commit a fix.'}
      </p>
      <p>
        Still held by:{' '}
        {r.environments.length === 0
          ? 'no environment'
          : r.environments.map((e) => `${e.env} (release ${e.release}, ${e.image}:${e.build})`).join(', ')}
        ; {r.builds} build{r.builds === 1 ? '' : 's'}
        {r.newestBuilds.length > 0 && (
          <>
            {' '}
            (newest:{' '}
            {r.newestBuilds.map((b, i) => (
              <span key={`${b.image}:${b.build}`}>
                {i > 0 && ', '}
                <a href={hrefOf('builds', { image: b.image, build: b.build })}>{`${b.image}:${b.build}`}</a>
              </span>
            ))}
            )
          </>
        )}
        .
      </p>
    </li>
  );
}
