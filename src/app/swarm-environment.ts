import type { EnvironmentConfig } from '../config/types.js';
import { createSwarmEngine, type SwarmEngine } from '../engine/swarm/swarm-engine.js';
import { BakeError } from '../util/errors.js';

/** An environment's swarm, when its `engine:` names one. */
export type SwarmEngineConfig = { swarm: { host: string; registry: string; router?: number } };

/** The swarm an environment runs on (`engine: {swarm: …}`); undefined for the local engine (the default). */
export function swarmOf(env: EnvironmentConfig): SwarmEngineConfig['swarm'] | undefined {
  return typeof env.engine === 'object' ? env.engine.swarm : undefined;
}

/** Connects to the environment's swarm manager (EngineUnavailableError, or EngineError when it is no manager). */
export async function openSwarm(env: EnvironmentConfig): Promise<SwarmEngine> {
  const config = swarmOf(env);
  if (!config) throw new BakeError(`environment ${env.name} does not run on a swarm`);
  const swarm = await createSwarmEngine(config.host);
  await swarm.ping();
  return swarm;
}
