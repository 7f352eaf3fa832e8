/**
 * The router's own traffic figures, per release: requests, errors (5xx answers and connection
 * failures) and latency percentiles. Canary analysis judges from these, and `bake status` shows
 * them. Figures cover a window that the analysis restarts at each canary step.
 */

/** What one release served in the current window. */
export interface ReleaseFigures {
  requests: number;
  errors: number;
  /** errors / requests; 0 with no requests. */
  errorRate: number;
  /** Milliseconds; null with no requests. */
  p50: number | null;
  p99: number | null;
}

/** The most recent latencies kept per release: enough for a p99 over a step, bounded in memory. */
const MAX_SAMPLES = 20_000;

export interface ReleaseStats {
  /** Counts one exchange: `error` for a 5xx or a connection failure. */
  record(release: number, latencyMs: number, error: boolean): void;
  /** Figures per release id, since the window began. */
  figures(): Record<string, ReleaseFigures>;
  /** Starts a new window (a canary step): every count back to zero. */
  reset(): void;
  /** Whether counting is on (it can be turned off to measure what it costs). */
  readonly counting: boolean;
}

/** Per-release counters; with `counting: false` every record is a no-op. */
export function releaseStats(options: { counting?: boolean } = {}): ReleaseStats {
  const counting = options.counting !== false;
  let byRelease = new Map<number, { requests: number; errors: number; samples: number[]; next: number }>();
  return {
    counting,
    record(release, latencyMs, error) {
      if (!counting) return;
      let entry = byRelease.get(release);
      if (!entry) byRelease.set(release, (entry = { requests: 0, errors: 0, samples: [], next: 0 }));
      entry.requests++;
      if (error) entry.errors++;
      if (entry.samples.length < MAX_SAMPLES) entry.samples.push(latencyMs);
      else entry.samples[entry.next++ % MAX_SAMPLES] = latencyMs;
    },
    figures() {
      const out: Record<string, ReleaseFigures> = {};
      for (const [release, e] of byRelease) {
        const sorted = [...e.samples].sort((a, b) => a - b);
        out[String(release)] = {
          requests: e.requests,
          errors: e.errors,
          errorRate: e.requests === 0 ? 0 : e.errors / e.requests,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
        };
      }
      return out;
    },
    reset() {
      byRelease = new Map();
    },
  };
}

/** The q-quantile of ascending `sorted` (nearest rank), rounded to 0.1 ms; null when empty. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round((sorted[rank] ?? 0) * 10) / 10;
}

/** Figures with nothing counted. */
export const NO_FIGURES: ReleaseFigures = { requests: 0, errors: 0, errorRate: 0, p50: null, p99: null };
