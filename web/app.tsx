import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { LiveEvent } from '../src/dashboard/api-types.js';
import { getSession } from './api';
import { followLive, type LiveState } from './live';
import { hrefOf, useRoute, VIEWS, type ViewName } from './route';
import { type AppState, AppStateContext, type FigureSample, type Session } from './state';
import { Connection } from './parts/connection';
import { TokenForm } from './parts/token-form';
import { storedToken, storeToken } from './token';
import { BuildsView } from './views/builds';
import { EnvironmentsView } from './views/environments';
import { HistoryView } from './views/history';
import { RefusalsView } from './views/refusals';
import { ServicesView } from './views/services';

const TITLES: Record<ViewName, string> = {
  environments: 'Environments',
  services: 'Services',
  builds: 'Builds',
  refusals: 'Refusals',
  history: 'History',
};
/** Readings kept per environment for the chart: a few minutes at one a second. */
const SAMPLES = 180;

/** The page: asks for a token when it needs one, then shows the views and keeps them live. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [asking, setAsking] = useState<{ problem: string | null } | null>(null);

  const signIn = async (token: string | null) => {
    try {
      const answer = await getSession(token);
      if (answer.role === null) {
        storeToken(null);
        setSession(null);
        setAsking({ problem: token ? 'The service did not accept that token.' : null });
        return;
      }
      if (token) storeToken(token);
      setAsking(null);
      setSession({ token, role: answer.role, name: answer.name, auth: answer.auth, generation: answer.generation });
    } catch (error) {
      setAsking({ problem: `The service did not answer: ${error instanceof Error ? error.message : String(error)}` });
    }
  };
  useEffect(() => void signIn(storedToken()), []);

  if (session) {
    return (
      <Signed
        session={session}
        signOut={() => {
          storeToken(null);
          setSession(null);
          setAsking({ problem: null });
        }}
      />
    );
  }
  return (
    <>
      <Top />
      <main id="main">
        {asking ? <TokenForm problem={asking.problem} onToken={(t) => void signIn(t)} /> : <p class="muted">Connecting…</p>}
      </main>
    </>
  );
}

function Top({ children }: { children?: ComponentChildren }) {
  return (
    <header class="top">
      <p class="brand">
        bake <span class="brand-sub">releases</span>
      </p>
      {children}
    </header>
  );
}

function Signed({ session, signOut }: { session: Session; signOut(): void }) {
  const route = useRoute();
  // The session said which generation is current: the first live hello then changes nothing.
  const [generation, setGeneration] = useState(session.generation);
  const [live, setLive] = useState<LiveState>({ status: 'connecting' });
  const [figures, setFigures] = useState<ReadonlyMap<string, readonly FigureSample[]>>(new Map());
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 5000);
    return () => clearInterval(tick);
  }, []);
  useEffect(
    () =>
      followLive(session.token, {
        state: (state) => {
          setLive(state);
          setNow(Date.now());
        },
        event: (event: LiveEvent) => {
          if (event.type === 'hello' || event.type === 'manifest') setGeneration((g) => (g === event.generation ? g : event.generation));
          else if (event.type === 'figures') {
            setFigures((all) => {
              const next = new Map(all);
              const sample = { t: Date.parse(event.at), running: event.running, serving: event.serving, toggles: event.toggles };
              next.set(event.env, [...(all.get(event.env) ?? []), sample].slice(-SAMPLES));
              return next;
            });
          }
        },
      }),
    [session.token],
  );
  useEffect(() => {
    document.title = `${TITLES[route.view]} — bake`;
  }, [route.view]);

  const state: AppState = { session, generation, live, figures, now };
  return (
    <AppStateContext.Provider value={state}>
      <Top>
        <Connection live={live} now={now} />
        <p class="who">
          {session.auth ? (
            <>
              {session.name ?? 'token'} · {session.role === 'write' ? 'may act' : 'read-only'}{' '}
              <button type="button" class="link" onClick={signOut}>
                Sign out
              </button>
            </>
          ) : (
            'no tokens (--no-auth)'
          )}
        </p>
      </Top>
      <nav class="views" aria-label="Views">
        <ul>
          {VIEWS.map((view) => (
            <li key={view}>
              <a href={hrefOf(view)} aria-current={route.view === view ? 'page' : undefined}>
                {TITLES[view]}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">
        {route.view === 'environments' && <EnvironmentsView />}
        {route.view === 'services' && <ServicesView route={route} />}
        {route.view === 'builds' && <BuildsView route={route} />}
        {route.view === 'refusals' && <RefusalsView route={route} />}
        {route.view === 'history' && <HistoryView route={route} />}
      </main>
    </AppStateContext.Provider>
  );
}
