import { createParser } from 'eventsource-parser';
import { DASHBOARD_API, type LiveEvent } from '../src/dashboard/api-types.js';

/** Where the live connection stands: what the banner says. */
export type LiveState = { status: 'connecting' } | { status: 'live' } | { status: 'lost'; retryAt: number; reason: string };

export interface LiveHandlers {
  event(event: LiveEvent): void;
  state(state: LiveState): void;
}

/** Waits after a lost connection: 1 s, then doubling up to 10 s, back to 1 s once it is live again. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 10_000;

/**
 * Follows /v1/events until stopped. EventSource cannot send an Authorization header, so this
 * reads the stream with fetch and parses it with eventsource-parser. When the stream ends or
 * fails, the state turns `lost` with the time of the next try, and it tries again by itself.
 * Returns the function that stops it.
 */
export function followLive(token: string | null, on: LiveHandlers): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  let wait = FIRST_RETRY_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function connect(): Promise<void> {
    on.state({ status: 'connecting' });
    controller = new AbortController();
    let reason = 'the stream ended';
    try {
      const res = await fetch(DASHBOARD_API.events, {
        headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        cache: 'no-store',
        signal: controller.signal,
      });
      if (!res.ok || !res.body) throw new Error(`the service answered ${res.status}`);
      const parser = createParser({
        onEvent(message) {
          const event = JSON.parse(message.data) as LiveEvent;
          if (event.type === 'hello') {
            wait = FIRST_RETRY_MS;
            on.state({ status: 'live' });
          }
          on.event(event);
        },
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    if (stopped) return;
    const retryAt = Date.now() + wait;
    on.state({ status: 'lost', retryAt, reason });
    timer = setTimeout(() => void connect(), wait);
    wait = Math.min(MAX_RETRY_MS, wait * 2);
  }

  void connect();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    controller?.abort();
  };
}
