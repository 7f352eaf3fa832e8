import type { BuildsViewResult } from '../app/builds-view.js';
import type { EnvironmentsViewResult } from '../app/environments-view.js';
import type { RefusalsViewResult } from '../app/refusals-view.js';
import type { EnvironmentFigures } from '../app/router-figures.js';
import type { TimelineResult } from '../app/timeline.js';
import type { VersionsViewResult } from '../app/versions-view.js';
import type { ProgressEvent } from '../util/progress.js';

// The dashboard's HTTP contract, shared by the server (src/dashboard/) and the page (web/), which
// imports these types only: nothing here runs in the browser.

/** Where each read is served (GET, `Authorization: Bearer` with a read or write token). */
export const DASHBOARD_API = {
  session: '/v1/dashboard/session',
  environments: '/v1/dashboard/environments',
  services: '/v1/dashboard/services',
  builds: '/v1/dashboard/builds',
  refusals: '/v1/dashboard/refusals',
  history: '/v1/dashboard/history',
  /** POST, a write token: promote, abort, rollback, toggle. */
  actions: '/v1/dashboard/actions',
  /** GET: a text/event-stream of LiveEvent, read with fetch (it needs the Authorization header). */
  events: '/v1/events',
} as const;

/**
 * Who the page is talking as: `role` null when the request carried no token the service accepts
 * (the page then asks for one). `auth: false`: the service runs with --no-auth.
 */
export type SessionAnswer =
  | { auth: boolean; role: null }
  | { auth: boolean; role: 'read' | 'write'; name: string | null; generation: number };

/** The answers of the reads, by route. */
export interface ReadAnswers {
  environments: EnvironmentsViewResult;
  services: VersionsViewResult;
  builds: BuildsViewResult;
  refusals: RefusalsViewResult;
  history: TimelineResult;
}

/** What the page may ask the service to do, each through the same use case as the CLI. */
export type ActionRequest =
  | { action: 'promote' | 'abort' | 'rollback'; env: string }
  | { action: 'toggle'; env: string; feature: string; on: boolean };

/** An error as `--json` prints it (kind, message, exitCode, details). */
export interface ErrorDocument {
  kind: string;
  message: string;
  exitCode: number;
  [detail: string]: unknown;
}

/** A failed read (a 4xx or 5xx): the same error document. */
export interface ErrorAnswer {
  error: ErrorDocument;
}

/**
 * One NDJSON line of an action's answer, as `POST /v1/commands` answers: progress while it runs,
 * then the use case's result (what `bake <action> --json` prints) or its error. `refused`: the gate
 * or the token's role said no (nothing changed), rather than something failing along the way.
 */
export type ActionLine = { progress: ProgressEvent } | { result: unknown } | { error: ErrorDocument & { refused: boolean } };

/**
 * One message of /v1/events (the SSE `event:` is `type`, `data:` the JSON of the whole message):
 * `manifest` when the generation moves (the page reads its view again), `figures` when what an
 * environment's router sees changes (shares, figures, toggles; sent to a new subscriber at once).
 */
export type LiveEvent =
  | { type: 'hello'; generation: number }
  | { type: 'manifest'; generation: number }
  | ({ type: 'figures'; at: string } & EnvironmentFigures);
