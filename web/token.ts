// The token lives in sessionStorage: one tab, gone when it closes; never a cookie, so no request
// the page did not make itself can carry it.
const KEY = 'bake.dashboard.token';

/** The token this tab was given, if any. */
export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** Keeps (or, with null, forgets) this tab's token. */
export function storeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch {
    // Storage refused (private mode with no quota): the token lasts until the page reloads.
  }
}
