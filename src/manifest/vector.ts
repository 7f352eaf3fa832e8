import type { VersionVector } from './model.js';

/** How two version vectors relate under the component-wise partial order. */
export type VectorOrder = 'equal' | 'newer' | 'older' | 'incomparable';

/** A service whose version differs between two vectors. */
export interface VectorChange {
  service: string;
  from: number;
  to: number;
}

/**
 * Compares `next` against `current` on the services both contain (a service only one of them
 * holds is neither newer nor older). `newer`: no service goes back and one goes forward.
 */
export function compareVectors(
  current: VersionVector,
  next: VersionVector,
): { order: VectorOrder; forward: VectorChange[]; backward: VectorChange[] } {
  const forward: VectorChange[] = [];
  const backward: VectorChange[] = [];
  for (const service of Object.keys(next).sort()) {
    const from = current[service];
    const to = next[service];
    if (from === undefined || to === undefined || from === to) continue;
    (to > from ? forward : backward).push({ service, from, to });
  }
  const order: VectorOrder =
    forward.length > 0 && backward.length > 0 ? 'incomparable' : forward.length > 0 ? 'newer' : backward.length > 0 ? 'older' : 'equal';
  return { order, forward, backward };
}

/** `catalog v3, cart v1` */
export function describeVector(vector: VersionVector): string {
  return Object.entries(vector)
    .map(([s, v]) => `${s} v${v}`)
    .join(', ');
}
