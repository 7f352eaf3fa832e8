import { useState } from 'preact/hooks';
import type { ActionRequest } from '../../src/dashboard/api-types.js';
import { postAction } from '../api';
import { useApp } from '../state';

/** Where the last action of a panel stands. */
type Outcome =
  | { state: 'idle' }
  | { state: 'running'; label: string; steps: string[] }
  | { state: 'done'; label: string; message: string }
  | { state: 'refused' | 'failed'; label: string; message: string; kind: string };

const LABELS: Record<ActionRequest['action'], string> = { promote: 'Promote', abort: 'Abort', rollback: 'Roll back', toggle: 'Toggle' };

/**
 * Runs actions against one environment and says how they went: each step as the service reports
 * it, then what the use case answered, or its refusal in the CLI's own words.
 */
export function useActions(): [Outcome, (request: ActionRequest) => Promise<void>] {
  const { session } = useApp();
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });
  const run = async (request: ActionRequest) => {
    const label = request.action === 'toggle' ? `Turn ${request.feature} ${request.on ? 'on' : 'off'}` : LABELS[request.action];
    const steps: string[] = [];
    setOutcome({ state: 'running', label, steps });
    try {
      const line = await postAction(request, session.token, (message) => {
        steps.push(message);
        setOutcome({ state: 'running', label, steps: [...steps] });
      });
      if ('result' in line) setOutcome({ state: 'done', label, message: describe(request, line.result) });
      else if ('error' in line) {
        const { refused, message, kind } = line.error;
        setOutcome({ state: refused ? 'refused' : 'failed', label, message, kind });
      }
    } catch (error) {
      setOutcome({ state: 'failed', label, message: error instanceof Error ? error.message : String(error), kind: 'network' });
    }
  };
  return [outcome, run];
}

/** The answer of an action, said plainly. */
export function OutcomeLine({ outcome }: { outcome: Outcome }) {
  switch (outcome.state) {
    case 'idle':
      return null;
    case 'running':
      return (
        <p class="outcome" role="status">
          {outcome.label}: {outcome.steps.at(-1) ?? 'sent'}…
        </p>
      );
    case 'done':
      return (
        <p class="outcome outcome-done" role="status">
          {outcome.label}: {outcome.message}
        </p>
      );
    default:
      return (
        <p class={`outcome outcome-${outcome.state}`} role="alert">
          <strong>
            {outcome.label} {outcome.state === 'refused' ? 'refused' : 'failed'}
          </strong>{' '}
          ({outcome.kind}): {outcome.message}
        </p>
      );
  }
}

/** Promote, abort and roll back, for whoever may; a read token's click is refused by the service, and shown. */
export function RolloutActions({ env, probation, live }: { env: string; probation: boolean; live: boolean }) {
  const { session } = useApp();
  const [outcome, run] = useActions();
  const busy = outcome.state === 'running';
  return (
    <div class="actions">
      <fieldset class="action-buttons">
        <legend class="visually-hidden">Actions on {env}</legend>
        {probation && (
          <button type="button" disabled={busy} onClick={() => void run({ action: 'promote', env })}>
            Promote
          </button>
        )}
        {probation && (
          <button type="button" class="danger" disabled={busy} onClick={() => void run({ action: 'abort', env })}>
            Abort
          </button>
        )}
        {live && (
          <button type="button" class="danger" disabled={busy} onClick={() => void run({ action: 'rollback', env })}>
            Roll back
          </button>
        )}
      </fieldset>
      {session.role === 'read' && <p class="hint">This token may only read: the service refuses its actions.</p>}
      <OutcomeLine outcome={outcome} />
    </div>
  );
}

function describe(request: ActionRequest, result: unknown): string {
  const r = (typeof result === 'object' && result !== null ? result : {}) as Record<string, unknown>;
  switch (request.action) {
    case 'promote':
      return `release ${String(r['release'])} is ${String(r['state'])}${r['probationUntil'] ? ` until ${String(r['probationUntil'])}` : ''}`;
    case 'abort':
      return `release ${String(r['release'])} withdrawn${r['to'] !== null && r['to'] !== undefined ? `; release ${String(r['to'])} serves again` : ''}`;
    case 'rollback':
      return `back from release ${String(r['from'])}${r['to'] !== null && r['to'] !== undefined ? ` to release ${String(r['to'])}` : ''}`;
    case 'toggle':
      return `${request.feature} is ${request.on ? 'on' : 'off'} in ${request.env}`;
  }
}
