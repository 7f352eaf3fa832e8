import type { ComponentChildren } from 'preact';

/** What a view shows before its first answer, or when its read failed. */
export function Loading({ error, what }: { error: string | undefined; what: string }) {
  if (error) {
    return (
      <p class="problem" role="alert">
        Could not read {what}: {error}
      </p>
    );
  }
  return <p class="muted">Reading {what}…</p>;
}

/** A view with nothing to show yet, and how to change that. */
export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
