import type { HistoryEvent } from '../../src/manifest/history.js';
import { Empty, Loading } from '../parts/notice';
import { Pager } from '../parts/pager';
import { When } from '../parts/when';
import { go, hrefOf, type Route } from '../route';
import { useView } from '../use-view';

const FILTERS = ['env', 'service', 'actor'] as const;
type Filter = (typeof FILTERS)[number];
const LABELS: Record<Filter, string> = { env: 'Environment', service: 'Service', actor: 'Actor' };

/** The log as a timeline, newest first, filtered by environment, service and actor. */
export function HistoryView({ route }: { route: Route }) {
  const chosen: Record<Filter, string | undefined> = {
    env: route.params.get('env') ?? undefined,
    service: route.params.get('service') ?? undefined,
    actor: route.params.get('actor') ?? undefined,
  };
  const offset = Number(route.params.get('offset') ?? 0) || 0;
  const { data, error } = useView('history', { ...chosen, offset });
  if (!data) return <Loading error={error} what="the history" />;
  const options: Record<Filter, string[]> = { env: data.facets.envs, service: data.facets.services, actor: data.facets.actors };
  return (
    <>
      <h1>History</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter the history">
        {FILTERS.map((f) => (
          <span key={f} class="filter">
            <label for={`history-${f}`}>{LABELS[f]}</label>
            <select
              id={`history-${f}`}
              value={chosen[f] ?? ''}
              onChange={(e) => go('history', { ...chosen, [f]: e.currentTarget.value || undefined })}
            >
              <option value="">any</option>
              {options[f].map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </span>
        ))}
      </form>
      {data.page.total === 0 ? (
        <Empty>Nothing recorded{Object.values(chosen).some(Boolean) ? ' matches these filters' : ' yet'}.</Empty>
      ) : (
        <ol class="timeline">
          {data.page.items.map((e, i) => (
            <Event key={`${offset + i}-${e.at}`} e={e} />
          ))}
        </ol>
      )}
      <Pager
        total={data.page.total}
        offset={data.page.offset}
        limit={data.page.limit}
        noun="events"
        hrefAt={(at) => hrefOf('history', { ...chosen, offset: at || undefined })}
      />
    </>
  );
}

function Event({ e }: { e: HistoryEvent }) {
  const refused = e.kind === 'refusal' || e.kind === 'commit-refusal' || e.kind === 'interrupted';
  return (
    <li class={`event event-${e.kind}${refused ? ' event-bad' : ''}`} data-kind={e.kind}>
      <span class="event-when">
        <When at={e.at} />
      </span>
      <span class={`kind kind-${e.kind}`}>{e.kind}</span>
      <span class="event-summary">{e.summary}</span>
      <span class="event-by">{e.by}</span>
    </li>
  );
}
