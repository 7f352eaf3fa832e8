import type { BuildEntry } from '../../src/app/builds-view.js';
import { bytes, shortDigest } from '../format';
import { Empty, Loading } from '../parts/notice';
import { Pager } from '../parts/pager';
import { Vector } from '../parts/vector';
import { When } from '../parts/when';
import { go, hrefOf, type Route } from '../route';
import { useView } from '../use-view';

/** Every build, newest first: what it holds, its digest and layers, whether it is stale or reproducible, and where it went. */
export function BuildsView({ route }: { route: Route }) {
  const image = route.params.get('image') ?? undefined;
  const build = route.params.get('build') ?? undefined;
  const offset = Number(route.params.get('offset') ?? 0) || 0;
  const { data, error } = useView('builds', { image, build: image ? build : undefined, offset });
  if (!data) return <Loading error={error} what="the builds" />;
  return (
    <>
      <h1>Builds</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="build-image">Image</label>
        <select id="build-image" value={image ?? ''} onChange={(e) => go('builds', { image: e.currentTarget.value || undefined })}>
          <option value="">every image</option>
          {data.images.map((i) => (
            <option key={i.image} value={i.image}>
              {i.image} ({i.builds} builds)
            </option>
          ))}
        </select>
        {build && image && (
          <a href={hrefOf('builds', { image })} class="clear">
            every build of {image}
          </a>
        )}
      </form>
      {data.page.total === 0 ? (
        <Empty>
          No build yet: <code>bake build IMAGE</code> bakes one.
        </Empty>
      ) : (
        <ol class="builds">
          {data.page.items.map((b) => (
            <Build key={`${b.image}:${b.build}`} b={b} />
          ))}
        </ol>
      )}
      <Pager
        total={data.page.total}
        offset={data.page.offset}
        limit={data.page.limit}
        noun="builds"
        hrefAt={(at) => hrefOf('builds', { image, offset: at || undefined })}
      />
    </>
  );
}

function Build({ b }: { b: BuildEntry }) {
  const stale = new Set(b.supersededBy.map((s) => s.service));
  const size = b.layers?.reduce((sum, l) => sum + l.size, 0);
  const own = b.layers?.length ?? 0;
  return (
    <li class="card build" data-build={`${b.image}:${b.build}`}>
      <h2 class="build-title">
        {b.image}:{b.build} <span class={`state state-${b.status}`}>{b.status}</span>
        {b.dev && <span class="state state-dev">dev</span>}
        {b.collected && <span class="state state-collected">collected</span>}
      </h2>
      <dl class="facts">
        <dt>Holds</dt>
        <dd>
          <Vector vector={b.vector} highlight={stale} />
          {b.supersededBy.length > 0 && (
            <p class="muted">newer: {b.supersededBy.map((s) => `${s.service} v${s.latest} (has v${s.have})`).join(', ')}</p>
          )}
        </dd>
        <dt>Digest</dt>
        <dd>
          <code title={b.digest}>{shortDigest(b.digest)}</code> · {b.level}
          {size !== undefined && <> · {bytes(size)}</>}
        </dd>
        <dt>Reproducible</dt>
        <dd>{b.reproducible ? 'yes: the same versions bake to this digest anywhere' : 'no (provisioning steps ran)'}</dd>
        <dt>Built</dt>
        <dd>
          <When at={b.builtAt} /> by {b.builtBy} on {b.base}
        </dd>
        <dt>Released</dt>
        <dd>
          {b.releases.length === 0
            ? 'nowhere'
            : b.releases.map((r) => (
                <span key={`${r.env}#${r.release}`} class={r.live ? 'badge badge-live' : 'badge'}>
                  {r.env} #{r.release} {r.live ? 'live' : r.state}
                </span>
              ))}
        </dd>
        <dt>Pushed</dt>
        <dd>
          {b.pushes.length === 0
            ? 'nowhere'
            : b.pushes.map((p) => (
                <span key={`${p.reference}@${p.at}`} class="pushed">
                  <code title={p.digest}>{p.reference.replace(/@sha256:(.{12}).*$/, '@sha256:$1')}</code>
                  {p.compressed && ' (compressed)'} <When at={p.at} /> by {p.by}
                </span>
              ))}
        </dd>
        {b.overrides.length > 0 && (
          <>
            <dt>Overrode</dt>
            <dd>{b.overrides.map((o) => `${o.kind} ${o.service} v${o.have} < v${o.want} (${o.flag}, ${o.by})`).join('; ')}</dd>
          </>
        )}
      </dl>
      <details>
        <summary>Layers ({b.layers ? b.layers.length : 'not in the store'})</summary>
        {b.layers ? (
          <div class="table-scroll">
            <table>
              <caption>Layers of {`${b.image}:${b.build}`}, base first</caption>
              <thead>
                <tr>
                  <th scope="col">Layer</th>
                  <th scope="col">Holds</th>
                  <th scope="col">Size</th>
                </tr>
              </thead>
              <tbody>
                {[...b.layers, ...b.pinned].map((l, i) => (
                  <tr key={i}>
                    <td>
                      <code title={l.digest}>{shortDigest(l.digest)}</code>
                    </td>
                    <td>
                      {l.service ? `${l.service} v${l.version}` : 'base'}
                      {i >= own && ' (installed at deploy)'}
                    </td>
                    <td>{bytes(l.size)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p class="muted">Its manifest is no longer in the store (collected, or never stored here).</p>
        )}
      </details>
    </li>
  );
}
