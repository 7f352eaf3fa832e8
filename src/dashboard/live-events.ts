import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLogger } from '../util/log.js';
import type { LiveEvent } from './api-types.js';
import { API_HEADERS } from './headers.js';
import type { Runner } from './runner.js';

const log = createLogger('dashboard');

export interface LiveOptions {
  /** How often the manifest's generation is looked at (a stat and its first bytes). */
  manifestMs?: number;
  /** How often the routers are asked what they see. */
  figuresMs?: number;
  /** How often an idle stream carries a comment, so nothing between closes it. */
  keepAliveMs?: number;
}

/** The `/v1/events` stream's subscribers, and the one watch they share. */
export interface LiveHub {
  /** Streams LiveEvents to one subscriber until it goes away (or the hub closes). */
  subscribe(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Ends every stream and stops watching. */
  close(): void;
}

/**
 * One watch for every open page: while at least one subscriber is connected, the manifest's
 * generation is polled (a stat, then its first bytes: never the whole manifest) and the routers
 * are asked what they see; a `manifest` event goes out when the generation moves, a `figures`
 * event when an environment's shares, figures or toggles change. A new subscriber gets the
 * current generation and every router's last reading at once. Nothing is polled while nobody
 * watches. A failed poll is logged (BAKE_DEBUG=dashboard) and the next one tries again.
 */
export function createLiveHub(runner: Runner, options: LiveOptions = {}): LiveHub {
  const manifestMs = options.manifestMs ?? 500;
  const figuresMs = options.figuresMs ?? 1000;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const subscribers = new Set<ServerResponse>();
  let mark: string | undefined;
  let generation = -1;
  /** The last reading sent of each environment's router. */
  const lastFigures = new Map<string, { json: string; event: LiveEvent }>();
  let timer: NodeJS.Timeout | undefined;
  let lastFiguresAt = 0;
  let lastWriteAt = Date.now();

  const write = (res: ServerResponse, event: LiveEvent) => {
    if (!res.destroyed) res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  const broadcast = (event: LiveEvent) => {
    lastWriteAt = Date.now();
    for (const res of subscribers) write(res, event);
  };

  async function pollManifest(): Promise<void> {
    const answer = await runner('manifest-generation', mark === undefined ? {} : { since: mark });
    mark = answer.mark;
    if (answer.unchanged || answer.generation === generation) return;
    generation = answer.generation;
    broadcast({ type: 'manifest', generation });
  }

  async function pollFigures(): Promise<void> {
    const { environments } = await runner('router-figures', {});
    for (const figures of environments) {
      const json = JSON.stringify(figures);
      const last = lastFigures.get(figures.env);
      if (last?.json === json || (!last && !figures.running)) continue;
      const event: LiveEvent = { type: 'figures', at: new Date().toISOString(), ...figures };
      lastFigures.set(figures.env, { json, event });
      broadcast(event);
    }
  }

  async function tick(): Promise<void> {
    timer = undefined;
    try {
      await pollManifest();
      if (Date.now() - lastFiguresAt >= figuresMs) {
        lastFiguresAt = Date.now();
        await pollFigures();
      }
      if (Date.now() - lastWriteAt >= keepAliveMs) {
        lastWriteAt = Date.now();
        for (const res of subscribers) if (!res.destroyed) res.write(': keep-alive\n\n');
      }
    } catch (error) {
      log.debug('live poll failed', { error: String(error) });
    }
    if (subscribers.size > 0) timer ??= setTimeout(() => void tick(), manifestMs);
  }

  return {
    async subscribe(req, res) {
      res.writeHead(200, { ...API_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' });
      const first = subscribers.size === 0;
      subscribers.add(res);
      req.socket.setKeepAlive(true);
      res.once('close', () => {
        subscribers.delete(res);
        if (subscribers.size > 0) return;
        if (timer) clearTimeout(timer);
        timer = undefined;
        // Nobody watches: forget, so the next subscriber starts from what is true then.
        mark = undefined;
        generation = -1;
        lastFigures.clear();
        lastFiguresAt = 0;
      });
      try {
        const now = await runner('manifest-generation', {});
        write(res, { type: 'hello', generation: now.unchanged ? generation : now.generation });
        for (const { event } of lastFigures.values()) write(res, event);
      } catch (error) {
        log.debug('live hello failed', { error: String(error) });
      }
      // The first subscriber starts the watch at once, so its routers' figures arrive without waiting a period.
      if (first) timer ??= setTimeout(() => void tick(), 0);
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const res of subscribers) res.end();
      subscribers.clear();
    },
  };
}
