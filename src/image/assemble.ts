import { StoreError } from '../util/errors.js';
import type { BaseImage } from '../base/base-image.js';
import { agentScript } from './agent-script.js';
import { entrypointScript } from './entrypoint-script.js';
import { writeLayer, type Layer } from '../layer/layer.js';
import type { ImageConfig, ImageManifest } from '../oci/image-config.js';
import { mergeEnv } from '../oci/image-config.js';
import type { LayoutStore } from '../oci/layout-store.js';
import { Annotation, MediaType, type Descriptor } from '../oci/media-types.js';
import type { BuildPlan } from './plan.js';
import type { TreeEntry } from '../tree/tree.js';
import { canonicalJson } from '../util/canonical-json.js';
import { isoSeconds } from '../util/clock.js';
import type { Digest } from '../util/digest.js';

/** An assembled image: its manifest descriptor (the image's identity) and config digest. */
export interface AssembledImage {
  manifest: Descriptor;
  config: Digest;
  layers: Layer[];
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Turns a partial image (base + services) into one more layer: see provision/provision.ts. */
export type Provisioner = (partial: AssembledImage) => Promise<Layer>;

/**
 * Assembles a heavily baked image: base layers, one stored layer per pinned service version
 * (reused by digest, never repacked), a small layer with the supervisor, then config and manifest
 * as canonical JSON. Everything is a pure function of the plan and the base, so it is reproducible.
 */
export async function assembleHeavy(
  plan: BuildPlan,
  base: BaseImage,
  store: LayoutStore,
  provision?: Provisioner,
): Promise<AssembledImage> {
  const serviceLayers: Layer[] = plan.services.map((s) => ({
    descriptor: { mediaType: s.version.layer.mediaType, digest: s.version.layer.digest, size: s.version.layer.size },
    diffId: s.version.layer.digest,
  }));
  // Checked all at once: one after another, a 200-service image waited 200 file-system round trips.
  const present = await Promise.all(serviceLayers.map((layer) => store.has(layer.descriptor.digest)));
  const missing = serviceLayers.find((_, i) => !present[i]);
  if (missing) {
    throw new StoreError(`layer ${missing.descriptor.digest} of a committed version is missing from the store; run bake commit again`);
  }
  const serviceHistory = plan.services.map((s) => ({ created_by: `bake: service ${s.name} v${s.version.version} (${s.version.digest})` }));
  const provisioned: { layers: Layer[]; history: { created_by: string }[] } = { layers: [], history: [] };
  if (provision) {
    const partial = await writeImage(plan, base, store, [...base.layers, ...serviceLayers], {
      entrypoint: ['/bin/sh'],
      history: serviceHistory,
      created: plan.created,
      vectorInImage: true,
    });
    provisioned.layers.push(await provision(partial));
    provisioned.history.push({ created_by: `bake: provision ${JSON.stringify(plan.recipe.provision ?? [])}` });
  }
  const entry = await writeLayer(store, bakeFiles(plan), { prefix: '', mtime: plan.created });
  return writeImage(plan, base, store, [...base.layers, ...serviceLayers, ...provisioned.layers, entry], {
    entrypoint: ['/bin/sh', '/bake/entrypoint.sh'],
    history: [...serviceHistory, ...provisioned.history, { created_by: 'bake: supervisor /bake/entrypoint.sh' }],
    created: plan.created,
    vectorInImage: true,
  });
}

interface ImageShape {
  entrypoint: string[];
  history: { created_by: string }[];
  /** Seconds since the epoch for `created`. */
  created: number;
  /** Heavy images carry their version vector; light ones are version-free. */
  vectorInImage: boolean;
}

/** Writes config and manifest (canonical JSON) for layers already in the store. */
async function writeImage(
  plan: BuildPlan,
  base: BaseImage,
  store: LayoutStore,
  layers: Layer[],
  shape: ImageShape,
): Promise<AssembledImage> {
  const created = isoSeconds(shape.created);
  const vector = canonicalJson(plan.vector);
  const recipe = plan.recipe;
  const revision = shape.vectorInImage ? plan.revision : undefined;
  const config: ImageConfig = {
    created,
    architecture: recipe.platform.architecture,
    os: recipe.platform.os,
    config: {
      ...base.config,
      Env: mergeEnv(
        [DEFAULT_PATH],
        base.config.Env,
        Object.entries(recipe.env).map(([k, v]) => `${k}=${v}`),
      ),
      Entrypoint: recipe.entrypoint ?? shape.entrypoint,
      ...(recipe.entrypoint === undefined && { Cmd: [] }),
      ExposedPorts: Object.fromEntries(recipe.ports.map((p) => [`${p}/tcp`, {}])),
      Labels: {
        ...base.config.Labels,
        ...recipe.labels,
        ...(shape.vectorInImage && { [Annotation.vector]: vector }),
        [Annotation.image]: plan.image,
        [Annotation.bakeLevel]: plan.level,
        ...(revision !== undefined && { [Annotation.revision]: revision }),
        [Annotation.created]: created,
      },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: [...base.history, ...shape.history.map((h) => ({ created, ...h }))],
  };
  const configBlob = await store.putBytes(canonicalJson(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config: { mediaType: MediaType.config, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((l) => ({ mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size })),
    annotations: {
      [Annotation.created]: created,
      [Annotation.title]: plan.image,
      ...(shape.vectorInImage && { [Annotation.vector]: vector }),
      ...(revision !== undefined && { [Annotation.revision]: revision }),
      ...(base.digest !== undefined && { [Annotation.baseDigest]: base.digest }),
    },
  };
  const manifestBlob = await store.putBytes(canonicalJson(manifest));
  return {
    manifest: {
      mediaType: MediaType.manifest,
      digest: manifestBlob.digest,
      size: manifestBlob.size,
      platform: { architecture: recipe.platform.architecture, os: recipe.platform.os },
    },
    config: configBlob.digest,
    layers,
  };
}

/**
 * Assembles a lightly baked image: base layers, the agent, config. No service layer and no
 * version is inside, so one light image serves every version vector; the release record pins
 * the service layers, which the deploy step installs. Throws StoreError.
 */
export async function assembleLight(plan: BuildPlan, base: BaseImage, store: LayoutStore): Promise<AssembledImage> {
  const script = Buffer.from(
    agentScript(
      plan.services
        .filter((s) => s.config.run !== undefined)
        .map((s) => ({
          name: s.name,
          install: s.config.install,
          run: s.config.run ?? '',
          ...(s.config.port !== undefined && { port: s.config.port }),
          env: s.config.env,
        })),
    ),
  );
  const info = Buffer.from(
    `${JSON.stringify({ image: plan.image, level: 'light', services: Object.fromEntries(plan.services.map((s) => [s.name, { install: s.config.install, port: s.config.port ?? null }])) }, null, 2)}\n`,
  );
  const agent = await writeLayer(
    store,
    [
      { path: 'bake', type: 'directory', mode: 0o755, size: 0 },
      { path: 'bake/agent.sh', type: 'file', mode: 0o755, size: script.length, read: async () => script },
      { path: 'bake/image.json', type: 'file', mode: 0o644, size: info.length, read: async () => info },
    ],
    { prefix: '', mtime: 0 },
  );
  return writeImage(plan, base, store, [...base.layers, agent], {
    entrypoint: ['/bin/sh', '/bake/agent.sh'],
    history: [{ created_by: 'bake: agent /bake/agent.sh' }],
    created: 0,
    vectorInImage: false,
  });
}

/** `/bake/entrypoint.sh` and `/bake/image.json`: the supervisor and a record of what is inside. */
function bakeFiles(plan: BuildPlan): TreeEntry[] {
  const script = Buffer.from(
    entrypointScript(
      plan.services
        .filter((s) => s.config.run !== undefined)
        .map((s) => ({
          name: s.name,
          version: s.version.version,
          install: s.config.install,
          run: s.config.run ?? '',
          ...(s.config.port !== undefined && { port: s.config.port }),
          env: s.config.env,
        })),
    ),
  );
  const info = Buffer.from(
    `${JSON.stringify(
      {
        image: plan.image,
        level: plan.level,
        vector: plan.vector,
        services: Object.fromEntries(
          plan.services.map((s) => [
            s.name,
            {
              version: s.version.version,
              digest: s.version.digest,
              layer: s.version.layer.digest,
              install: s.config.install,
              revision: s.version.revision ?? null,
            },
          ]),
        ),
      },
      null,
      2,
    )}\n`,
  );
  return [
    { path: 'bake', type: 'directory', mode: 0o755, size: 0 },
    { path: 'bake/entrypoint.sh', type: 'file', mode: 0o755, size: script.length, read: async () => script },
    { path: 'bake/image.json', type: 'file', mode: 0o644, size: info.length, read: async () => info },
  ];
}
