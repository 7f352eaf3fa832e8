import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_BODY_TIMEOUT, timedBody } from '../service/body-timeout.js';
import { readJson } from '../service/http-answers.js';
import { HttpError } from '../service/http-error.js';
import type { Grant } from '../service/tokens.js';
import { parseAction, runAction } from './actions.js';
import { DASHBOARD_API, type SessionAnswer } from './api-types.js';
import { API_HEADERS } from './headers.js';
import { createLiveHub, type LiveOptions } from './live-events.js';
import { createReadApi } from './read-api.js';
import { createRunner } from './runner.js';
import { ASSET_NAME, loadStaticFiles, sendStatic, type StaticFiles } from './static-files.js';

export interface DashboardOptions {
  workspace: string;
  /** The environment the use cases run with (the service's). */
  env: NodeJS.ProcessEnv;
  /** False when the service runs with --no-auth: the page then asks for no token. */
  auth: boolean;
  live?: LiveOptions;
}

/** The release dashboard, served by `bake serve` on its own listener. */
export interface Dashboard {
  /**
   * Answers the request when it is the dashboard's — the page (`/`, `/assets/*`, public), its reads
   * (`/v1/dashboard/*`) and events (`/v1/events`), which need a token, and its actions, which need a
   * write token — and resolves true; resolves false for every other request. Throws HttpError
   * (401 without a token, 404 for an unknown asset, 400 for a bad query) before answering.
   */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, grant: Grant | undefined): Promise<boolean>;
  /** Ends the event streams, so the service can close. */
  close(): void;
}

/** The dashboard of the service's workspace: its embedded store, read through the use cases. */
export function createDashboard(options: DashboardOptions): Dashboard {
  const runner = createRunner(options.workspace, options.env);
  const reads = createReadApi(runner);
  const live = createLiveHub(runner, options.live);
  const debug = Boolean(options.env['BAKE_DEBUG']);
  let files: Promise<StaticFiles | undefined> | undefined;
  const page = () => (files ??= loadStaticFiles());

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { ...API_HEADERS, 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  };
  const needGrant = (grant: Grant | undefined): Grant => {
    if (!grant) throw new HttpError(401, 'a bearer token is required: the page asks for one and sends it as Authorization: Bearer');
    return grant;
  };

  return {
    async handle(req, res, url, grant) {
      const path = url.pathname;
      const reading = req.method === 'GET' || req.method === 'HEAD';
      if (reading && (path === '/' || path.startsWith('/assets/'))) {
        const built = await page();
        if (!built) throw new HttpError(404, 'the dashboard was not built with this bake (npm run build builds it into dist/dashboard)');
        const name = path.slice('/assets/'.length);
        const file = path === '/' ? built.index : ASSET_NAME.test(name) ? built.assets.get(name) : undefined;
        if (!file) throw new HttpError(404, `no such file of the dashboard: ${path.slice(0, 100)}`);
        sendStatic(req, res, file);
        return true;
      }
      if (req.method === 'GET' && path === DASHBOARD_API.events) {
        needGrant(grant);
        await live.subscribe(req, res);
        return true;
      }
      if (req.method === 'GET' && path === DASHBOARD_API.session) {
        // Asked before the page has a token: answered, not refused, so a browser logs no failed request.
        if (!grant) {
          answer(res, 200, { auth: options.auth, role: null } satisfies SessionAnswer);
          return true;
        }
        const now = await runner('manifest-generation', {});
        const session: SessionAnswer = {
          auth: options.auth,
          role: grant.role,
          name: grant.name ?? null,
          generation: now.unchanged ? 0 : now.generation,
        };
        answer(res, 200, session);
        return true;
      }
      if (req.method === 'POST' && path === DASHBOARD_API.actions) {
        const who = needGrant(grant);
        const request = parseAction(await readJson(timedBody(req, DEFAULT_BODY_TIMEOUT)));
        await runAction(res, runner, who, request, { workspace: options.workspace, debug });
        return true;
      }
      if (req.method === 'GET' && path.startsWith('/v1/dashboard/')) {
        needGrant(grant);
        const result = await reads.read(path, url.searchParams);
        if (result === undefined) throw new HttpError(404, `no such view: ${path.slice(0, 100)}`);
        answer(res, 200, result);
        return true;
      }
      return false;
    },
    close: () => live.close(),
  };
}
