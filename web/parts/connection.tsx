import type { LiveState } from '../live';

/** Live, connecting, or lost and retrying: always visible, announced when it changes. */
export function Connection({ live, now }: { live: LiveState; now: number }) {
  const text =
    live.status === 'live'
      ? 'Live'
      : live.status === 'connecting'
        ? 'Connecting…'
        : `Connection lost, retrying${live.retryAt > now ? ` in ${Math.ceil((live.retryAt - now) / 1000)} s` : ''}…`;
  return (
    <p class={`connection connection-${live.status}`} role="status" aria-live="polite" data-status={live.status}>
      {text}
    </p>
  );
}
