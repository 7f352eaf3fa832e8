import { hrefOf } from '../route';

/** A version vector, service by service, each linking to that service's versions. */
export function Vector({ vector, highlight }: { vector: Record<string, number>; highlight?: ReadonlySet<string> }) {
  const entries = Object.entries(vector).sort(([a], [b]) => (a < b ? -1 : 1));
  if (entries.length === 0) return <span class="muted">nothing</span>;
  return (
    <ul class="vector">
      {entries.map(([service, version]) => (
        <li key={service} class={highlight?.has(service) ? 'vector-hot' : undefined}>
          <a href={hrefOf('services', { service })}>{service}</a> <span class="version">v{version}</span>
        </li>
      ))}
    </ul>
  );
}
