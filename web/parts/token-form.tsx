import { useState } from 'preact/hooks';

/** Asks for a token: kept in this tab only, sent as a header. */
export function TokenForm({ problem, onToken }: { problem: string | null; onToken(token: string): void }) {
  const [token, setToken] = useState('');
  return (
    <form
      class="card token-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (token.trim()) onToken(token.trim());
      }}
    >
      <h1>Sign in to this bake service</h1>
      <p>
        Paste a token from the service's token file: a <strong>read</strong> token sees everything, a <strong>write</strong> token may also
        promote, abort, roll back and toggle. It is kept in this tab only (sessionStorage) and sent as a header, never as a cookie.
      </p>
      {problem && (
        <p class="problem" role="alert">
          {problem}
        </p>
      )}
      <label for="token">Token</label>
      <input
        id="token"
        name="token"
        type="password"
        autocomplete="off"
        required
        value={token}
        onInput={(e) => setToken(e.currentTarget.value)}
      />
      <button type="submit">Sign in</button>
    </form>
  );
}
