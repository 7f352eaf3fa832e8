import { useEffect, useRef, useState } from 'preact/hooks';
import type { ReadAnswers } from '../src/dashboard/api-types.js';
import { getView } from './api';
import { useApp } from './state';

/** A view's data: the last answer (kept while a newer one loads), and the error of the last try. */
export interface ViewData<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
}

let firstData = false;
/** A read started before the page knew its session (see primeFirstView), taken by the first view that asks for it. */
const primed = new Map<string, Promise<unknown>>();

/**
 * Starts reading the landing view while the page still asks who it is: with a token kept from
 * before, the environments answer and the session answer travel at the same time.
 */
export function primeFirstView(view: 'environments', token: string): void {
  const early = getView(view, {}, token);
  // Unused when the token turns out not to be accepted: that is the session's to say, not an error here.
  early.catch(() => undefined);
  primed.set(JSON.stringify([view, {}]), early);
}

/**
 * Reads a view and reads it again whenever its parameters change or the manifest's generation
 * moves (a live update). Answers that arrive after a newer request are dropped. The first data
 * the page shows is marked (`bake:first-data`) for the Performance API.
 */
export function useView<K extends keyof ReadAnswers>(
  view: K,
  params: Record<string, string | number | undefined>,
): ViewData<ReadAnswers[K]> {
  const { session, generation } = useApp();
  const [state, setState] = useState<ViewData<ReadAnswers[K]>>({ data: undefined, error: undefined, loading: true });
  const latest = useRef(0);
  const key = JSON.stringify([view, params]);
  useEffect(() => {
    const ticket = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    const early = primed.get(key) as Promise<ReadAnswers[K]> | undefined;
    primed.delete(key);
    (early ?? getView(view, params, session.token)).then(
      (data) => {
        if (ticket !== latest.current) return;
        setState({ data, error: undefined, loading: false });
        if (!firstData) {
          firstData = true;
          requestAnimationFrame(() => performance.mark('bake:first-data'));
        }
      },
      (error: unknown) => {
        if (ticket !== latest.current) return;
        setState((s) => ({ ...s, error: error instanceof Error ? error.message : String(error), loading: false }));
      },
    );
  }, [key, generation, session.token]);
  return state;
}
