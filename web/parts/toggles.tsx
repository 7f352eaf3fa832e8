import { useState } from 'preact/hooks';
import { OutcomeLine, useActions } from './actions';

/** The router's feature toggles, each with a button that flips it, and a field to turn one on. */
export function Toggles({ env, toggles }: { env: string; toggles: Record<string, boolean> }) {
  const [outcome, run] = useActions();
  const [feature, setFeature] = useState('');
  const names = Object.keys(toggles).sort();
  const busy = outcome.state === 'running';
  const field = `toggle-${env}`;
  return (
    <div class="toggles">
      <h3>Feature toggles</h3>
      {names.length === 0 ? (
        <p class="muted">No toggle is set.</p>
      ) : (
        <ul>
          {names.map((name) => (
            <li key={name}>
              <code>{name}</code> is <strong>{toggles[name] ? 'on' : 'off'}</strong>{' '}
              <button type="button" disabled={busy} onClick={() => void run({ action: 'toggle', env, feature: name, on: !toggles[name] })}>
                Turn {toggles[name] ? 'off' : 'on'}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (feature.trim()) void run({ action: 'toggle', env, feature: feature.trim(), on: true });
        }}
      >
        <label for={field}>Feature</label>
        <input id={field} name="feature" value={feature} onInput={(e) => setFeature(e.currentTarget.value)} autocomplete="off" />
        <button type="submit" disabled={busy || !feature.trim()}>
          Turn on
        </button>
      </form>
      <OutcomeLine outcome={outcome} />
    </div>
  );
}
