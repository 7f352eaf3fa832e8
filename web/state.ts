import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { RouterServing } from '../src/app/router-figures.js';
import type { LiveState } from './live';

/** Who the page acts as. */
export interface Session {
  token: string | null;
  role: 'read' | 'write';
  name: string | null;
  /** False when the service runs with --no-auth. */
  auth: boolean;
  /** The manifest generation when the session began. */
  generation: number;
}

/** One reading of an environment's router, as /v1/events delivered it. */
export interface FigureSample {
  /** Milliseconds since 1970. */
  t: number;
  /** Whether a router answers for the environment at all. */
  running: boolean;
  serving: RouterServing[];
  toggles: Record<string, boolean>;
}

/** What every view reads: the session, the manifest generation (views refetch when it moves), live figures and the clock. */
export interface AppState {
  session: Session;
  generation: number;
  live: LiveState;
  /** Environment → its recent router readings, oldest first. */
  figures: ReadonlyMap<string, readonly FigureSample[]>;
  /** The clock relative times are drawn against; it ticks every few seconds. */
  now: number;
}

export const AppStateContext = createContext<AppState | null>(null);

/** The page's state; only used inside <App>. */
export function useApp(): AppState {
  const state = useContext(AppStateContext);
  if (!state) throw new Error('useApp outside <App>');
  return state;
}
