import type { BuildRecord, EnvironmentRecord, ReleaseRecord, VersionManifest, VersionVector } from '../manifest/model.js';
import { checkCompatibility } from './check.js';
import { declarationsIn } from './declarations.js';
import { IncompatibleRefusedError } from './incompatible-error.js';
import { checkSchemas } from './schema-check.js';
import { compatibilityWindows, type RolloutKind } from './windows.js';

/** How a release will reach its instances: what the windows are made of. */
export interface RolloutShape {
  strategy: RolloutKind;
  replicas: number;
  batch: number;
  /** Blue/green keeps the old fleet for a probation. */
  probation?: boolean;
}

/** A release handed to someone else's deploy step: old and new side by side, then the new alone. */
export const HAND_OFF: RolloutShape = { strategy: 'hand-off', replicas: 1, batch: 1 };

/**
 * The compatibility part of the release gate, pure: the windows the rollout of `build` into `env`
 * creates (its image's live release being replaced, the other images' live releases running
 * throughout) are checked against the interfaces every running version declared, and the build's
 * code against the environment's migration history. Returns the refusal (IncompatibleRefusedError,
 * exit 3), or undefined. Nothing overrides it: neither --rollback nor --allow-stale makes versions
 * that cannot work together work.
 */
export function compatibilityRefusal(input: {
  manifest: VersionManifest;
  build: Pick<BuildRecord, 'image' | 'id' | 'vector'>;
  env: string;
  rollout?: RolloutShape;
  rollback: boolean;
}): IncompatibleRefusedError | undefined {
  const { manifest, build } = input;
  const record = manifest.environments[input.env];
  const { mine, others } = liveVectors(record, build.image);
  const declared = declarationsIn(manifest);
  const involved = [build.vector, ...mine, ...others];
  if (!involved.some((vector) => Object.entries(vector).some(([s, v]) => declared(s, v) !== undefined))) return undefined;
  const shape = input.rollout ?? HAND_OFF;
  const windows = compatibilityWindows(shape.strategy, mine, build.vector, shape.replicas, shape.batch, {
    ...(shape.probation !== undefined && { probation: shape.probation }),
    others,
  });
  const schemas = checkSchemas({ env: record, newVector: build.vector, running: [...mine, ...others], declared });
  const interfaces = checkCompatibility(windows, declared);
  if (interfaces.length === 0 && schemas.length === 0) return undefined;
  const target = {
    action: input.rollback ? ('rollback' as const) : ('release' as const),
    image: build.image,
    build: build.id,
    env: input.env,
  };
  return new IncompatibleRefusedError(target, interfaces, schemas);
}

/** The vectors of the live release of `image` (the one being replaced) and of the environment's other images. */
function liveVectors(record: EnvironmentRecord | undefined, image: string): { mine: VersionVector[]; others: VersionVector[] } {
  const mine: VersionVector[] = [];
  const others: VersionVector[] = [];
  for (const [name, id] of Object.entries(record?.live ?? {})) {
    const release: ReleaseRecord | undefined = record?.releases.find((r) => r.id === id);
    if (release) (name === image ? mine : others).push(release.vector);
  }
  return { mine, others };
}
