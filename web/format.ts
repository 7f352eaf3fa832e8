import { formatDistanceToNowStrict } from 'date-fns';

/** "3 minutes ago", "in 2 minutes": date-fns does the units and the rounding. */
export function relative(at: string | Date, now: number): string {
  const date = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) return String(at);
  if (Math.abs(date.getTime() - now) < 5000) return 'just now';
  return formatDistanceToNowStrict(date, { addSuffix: true });
}

/** An exact time as people read it, in their own time zone. */
export function exact(at: string): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? at : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** sha256:0123…: enough to tell digests apart on screen (the full one is in the title). */
export function shortDigest(digest: string): string {
  return digest.startsWith('sha256:') ? `sha256:${digest.slice(7, 19)}` : digest.slice(0, 19);
}

/** A git revision as people quote it. */
export function shortRevision(revision: string | null | undefined): string {
  return revision ? revision.slice(0, 12) : '—';
}

/** Milliseconds, or a dash when nothing was measured. */
export function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

/** 0.034 → "3.4%". */
export function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate === 0 ? 0 : 1)}%`;
}

/** A whole number with thousands separated. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
