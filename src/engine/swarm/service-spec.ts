import { Label } from '../labels.js';

/**
 * What bake asks of a swarm service, as plain data, and the engine's ServiceSpec it becomes (a
 * pure function: the table tests read it). The engine's own machinery does the rolling: update
 * config (parallelism, start-first, rollback on failure, a monitor window), a container health
 * check that gates every new task, and placement preferences that spread tasks over a node label.
 */
export interface SwarmServiceRequest {
  name: string;
  /** `registry/repo@sha256:…`: every node pulls the same bytes; a tag never decides what runs. */
  image: string;
  /** On the service and on every task's container (the release, the vector, the scope). */
  labels: Record<string, string>;
  replicas: number;
  /** Container ports, each published in host mode on a port the engine picks on the task's node. */
  ports: number[];
  /** Health: each check must pass inside the container before the engine counts a task as running. */
  checks: { port: number; path: string; version?: number }[];
  update: {
    /** Tasks replaced at a time (the environment's batch). */
    parallelism: number;
    /** How long a new task is watched for failure after it starts, before the next batch. */
    monitorMs: number;
    /** Pause between batches. */
    delayMs: number;
  };
  /** Spread tasks evenly over the values of node.labels.<spread> (zones). */
  spread?: string;
  /** Overlay networks every task joins (the in-cluster router reaches tasks over one). */
  networks?: string[];
  /** How long a task may take to start before its health counts (BAKE_HEALTH_TIMEOUT_MS). */
  startPeriodMs: number;
}

const ms = (value: number): number => Math.round(value * 1_000_000);

/** The shell the health check runs (busybox, as in every bake base): health paths, then /version names the version. */
export function healthScript(checks: SwarmServiceRequest['checks']): string {
  return checks
    .map((c) => {
      // No -T: Debian's static busybox wget crashes with it; the health check's own Timeout bounds it.
      const get = (path: string) => `busybox wget -q -O - http://127.0.0.1:${c.port}${path}`;
      const health = `${get(c.path)} >/dev/null`;
      if (c.version === undefined) return health;
      return `${health} && case " $(${get('/version')} | tr '\\n' ' ') " in *" ${c.version} "*) ;; *) exit 1 ;; esac`;
    })
    .join(' && ');
}

/** The engine's ServiceSpec (API 1.41) for a request. */
export function serviceSpec(request: SwarmServiceRequest): Record<string, unknown> {
  const labels = { ...request.labels, [Label.managed]: 'true' };
  const update = {
    Parallelism: request.update.parallelism,
    Delay: ms(request.update.delayMs),
    FailureAction: 'rollback',
    Monitor: ms(request.update.monitorMs),
    MaxFailureRatio: 0,
    // New tasks start (and turn healthy) before old ones stop: capacity never drops during a batch.
    Order: 'start-first',
  };
  return {
    Name: request.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: request.image,
        Labels: labels,
        ...(request.checks.length > 0 && {
          Healthcheck: {
            Test: ['CMD', '/bin/busybox', 'sh', '-c', healthScript(request.checks)],
            Interval: ms(500),
            Timeout: ms(3000),
            Retries: 3,
            StartPeriod: ms(request.startPeriodMs),
          },
        }),
        StopGracePeriod: ms(5000),
      },
      RestartPolicy: { Condition: 'any', Delay: ms(500), MaxAttempts: 0 },
      ...(request.networks && request.networks.length > 0 && { Networks: request.networks.map((Target) => ({ Target })) }),
      ...(request.spread && { Placement: { Preferences: [{ Spread: { SpreadDescriptor: `node.labels.${request.spread}` } }] } }),
      // Forces a new task even when only the labels change (the engine otherwise compares specs).
      ForceUpdate: 0,
    },
    Mode: { Replicated: { Replicas: request.replicas } },
    UpdateConfig: update,
    RollbackConfig: { ...update, FailureAction: 'pause' },
    // No routing mesh here (it needs IPVS): each task publishes on its own node, on a port the engine picks.
    EndpointSpec: {
      Mode: 'dnsrr',
      Ports: request.ports.map((port) => ({ Protocol: 'tcp', TargetPort: port, PublishMode: 'host' })),
    },
  };
}
