import { randomBytes } from 'node:crypto';
import type { ContainerInfo, Engine } from '../engine/docker-engine.js';
import type { BlobSource } from './blob-source.js';
import { instanceLabels, type DeployTarget } from './deploy-plan.js';
import { waitHealthy } from './health.js';
import { installPins, type Pin } from './light-install.js';
import { BakeError } from '../util/errors.js';
import { createLogger } from '../util/log.js';

const log = createLogger('deploy:instance');

/** The part of an engine the deploy steps use: small enough to fake in a unit test. */
export type DeployEngine = Pick<
  Engine,
  'createContainer' | 'startContainer' | 'inspectContainer' | 'removeContainer' | 'logs' | 'putArchive'
>;

/** The pins a light release binds: each service's version and layer digest. Throws BakeError when a layer is missing. */
export function pinsOf(target: Pick<DeployTarget, 'vector' | 'serviceLayers'>): Pin[] {
  return Object.entries(target.vector).map(([service, version]) => {
    const layer = target.serviceLayers[service];
    if (layer === undefined)
      throw new BakeError(`the release pins no layer for ${service} v${version}: it cannot be bound into a light container`);
    return { service, version, layer };
  });
}

/**
 * Starts one instance of a release: create the container from the image ID (a digest), bind the
 * pinned layers of a light release before it starts, start it, and wait until every service with
 * a health path answers with the pinned version. On failure the container is removed.
 * Throws EngineError, HealthError.
 */
export async function startInstance(
  engine: DeployEngine,
  target: DeployTarget,
  blobs: BlobSource,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ContainerInfo> {
  const name = `bake-${target.env}-${target.image}-r${target.release}-${randomBytes(3).toString('hex')}`;
  log.debug('creating', { name });
  const id = await engine.createContainer({ name, image: target.imageId, labels: instanceLabels(target), ports: target.publish });
  try {
    if (target.level === 'light') await installPins(engine, id, pinsOf(target), blobs);
    log.debug('starting', { name });
    await engine.startContainer(id);
    log.debug('started', { name });
    const info = await engine.inspectContainer(id);
    log.debug('waiting for health', { name, ports: info?.ports });
    if (!info) throw new Error(`container ${name} vanished after start`);
    await waitForServices(info, target, options.timeoutMs, options.signal);
    return info;
  } catch (error) {
    const logs = await engine.logs(id).catch(() => '');
    await engine.removeContainer(id);
    if (error instanceof Error && logs) error.message += `\ncontainer output:\n${logs.trimEnd()}`;
    throw error;
  }
}

/** Waits for each service that declares a port and a health path, at the version pinned for it. */
export async function waitForServices(
  info: ContainerInfo,
  target: Pick<DeployTarget, 'services' | 'vector'>,
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<void> {
  for (const service of target.services) {
    if (service.port === undefined || service.health === undefined) continue;
    const port = info.ports[service.port];
    if (port === undefined) continue;
    const version = target.vector[service.name];
    await waitHealthy({ service: service.name, port, path: service.health, ...(version !== undefined && { version }) }, timeoutMs, signal);
  }
}
