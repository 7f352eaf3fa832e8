import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { EngineError, EngineUnavailableError } from './errors.js';
import { Label } from './labels.js';

/**
 * The one owner of dockerode. Everything bake does to a Docker engine goes through this small
 * interface, so its quirks live here: errors are classified by HTTP status code, and a progress
 * stream (load, pull) has succeeded only if it carried no `error` event.
 */

/** A container to create; it also gets the `dev.bake.managed` label, so bake can find it again. */
export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  env?: string[];
  /** Container port → host port, always published on 127.0.0.1 (0 picks a free port). */
  ports?: Record<number, number>;
  cmd?: string[];
  entrypoint?: string[];
  network?: string;
}

export interface ContainerInfo {
  id: string;
  name: string;
  running: boolean;
  /** Container port → host port on 127.0.0.1. */
  ports: Record<number, number>;
  labels: Record<string, string>;
  image: string;
}

export interface Engine {
  /** Where it talks to, for messages. */
  readonly address: string;
  /** Throws EngineUnavailableError when nothing answers. */
  ping(): Promise<void>;
  /** Image ID (config digest) if the engine has an image by that ID or reference. */
  imageId(reference: string): Promise<string | undefined>;
  /** Loads a `docker save` archive; throws EngineError with the engine's own message on failure. */
  loadImage(archive: Readable): Promise<void>;
  tagImage(id: string, repo: string, tag: string): Promise<void>;
  /** Pulls by reference (repo@sha256:…); throws EngineError on any error event. */
  pullImage(reference: string): Promise<void>;
  removeImage(reference: string): Promise<void>;
  listImages(labels: Record<string, string>): Promise<{ id: string; tags: string[]; labels: Record<string, string> }[]>;
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds?: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  inspectContainer(id: string): Promise<ContainerInfo | undefined>;
  listContainers(labels: Record<string, string>): Promise<ContainerInfo[]>;
  /** Extracts a tar archive into the container's filesystem at `path` (works on created, stopped or running containers). */
  putArchive(id: string, path: string, archive: Readable | Buffer): Promise<void>;
  /** Runs a command in a running container; returns its exit code and combined output. */
  exec(id: string, cmd: string[]): Promise<{ exitCode: number; output: string }>;
  logs(id: string): Promise<string>;
  /** Waits for a container to exit; returns its exit code. */
  waitContainer(id: string): Promise<number>;
  /** Commits a container's filesystem as a new image; returns the image ID. */
  commitContainer(id: string, labels: Record<string, string>): Promise<string>;
  /** The `docker save` archive of an image. */
  saveImage(reference: string): Promise<Readable>;
  createNetwork(name: string, labels: Record<string, string>): Promise<string>;
  removeNetwork(name: string): Promise<void>;
}

/**
 * An engine client from DOCKER_HOST (unix socket or tcp://), else the default socket. dockerode
 * is loaded here, on first use, so commands that never touch an engine never pay for it.
 */
export async function createEngine(env: NodeJS.ProcessEnv = process.env): Promise<Engine> {
  const { docker, address, call } = await openDocker(env['DOCKER_HOST']);

  const engine: Engine = {
    address,
    async ping() {
      await call('ping', () => docker.ping());
    },
    async imageId(reference) {
      try {
        return (await docker.getImage(reference).inspect()).Id;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw classify(error, `inspect image ${reference}`, address);
      }
    },
    async loadImage(archive) {
      const stream = await call('load image', () => docker.loadImage(archive, { quiet: true }));
      await followProgress(docker, stream, 'load image');
    },
    async tagImage(id, repo, tag) {
      await call(`tag ${id} as ${repo}:${tag}`, () => docker.getImage(id).tag({ repo, tag }));
    },
    async pullImage(reference) {
      const stream = await call(`pull ${reference}`, () => docker.pull(reference));
      await followProgress(docker, stream, `pull ${reference}`);
    },
    async removeImage(reference) {
      await call(`remove image ${reference}`, () => docker.getImage(reference).remove({ force: true })).catch((error: unknown) => {
        if ((error as EngineError).statusCode !== 404) throw error;
      });
    },
    async listImages(labels) {
      const images = await call('list images', () => docker.listImages({ filters: JSON.stringify({ label: labelFilters(labels) }) }));
      return images.map((i) => ({ id: i.Id, tags: i.RepoTags ?? [], labels: i.Labels ?? {} }));
    },
    async createContainer(spec) {
      const exposed: Record<string, object> = {};
      const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
      for (const [container, hostPort] of Object.entries(spec.ports ?? {})) {
        exposed[`${container}/tcp`] = {};
        bindings[`${container}/tcp`] = [{ HostIp: '127.0.0.1', HostPort: hostPort === 0 ? '' : String(hostPort) }];
      }
      const created = await call(`create container ${spec.name}`, () =>
        docker.createContainer({
          name: spec.name,
          Image: spec.image,
          Labels: { ...spec.labels, [Label.managed]: 'true' },
          ...(spec.env && { Env: spec.env }),
          ...(spec.cmd && { Cmd: spec.cmd }),
          ...(spec.entrypoint && { Entrypoint: spec.entrypoint }),
          ExposedPorts: exposed,
          HostConfig: { PortBindings: bindings, ...(spec.network && { NetworkMode: spec.network }) },
        }),
      );
      return created.id;
    },
    async startContainer(id) {
      await call(`start container ${id}`, () => docker.getContainer(id).start());
    },
    async stopContainer(id, timeoutSeconds = 5) {
      await call(`stop container ${id}`, () => docker.getContainer(id).stop({ t: timeoutSeconds })).catch((error: unknown) => {
        // 304: already stopped; 404: already gone. Both are what stop wants.
        if (![304, 404].includes((error as EngineError).statusCode ?? 0)) throw error;
      });
    },
    async removeContainer(id) {
      await call(`remove container ${id}`, () => docker.getContainer(id).remove({ force: true, v: true })).catch((error: unknown) => {
        // 404: already gone; 409: the engine is already removing it (AutoRemove, a parallel call).
        if (![404, 409].includes((error as EngineError).statusCode ?? 0)) throw error;
      });
    },
    async inspectContainer(id) {
      try {
        return toInfo(await docker.getContainer(id).inspect());
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw classify(error, `inspect container ${id}`, address);
      }
    },
    async listContainers(labels) {
      const list = await call('list containers', () =>
        docker.listContainers({ all: true, filters: JSON.stringify({ label: labelFilters(labels) }) }),
      );
      const infos = await Promise.all(list.map((c) => engine.inspectContainer(c.Id)));
      return infos.filter((i) => i !== undefined);
    },
    async putArchive(id, path, archive) {
      await call(`upload into ${id}:${path}`, () => docker.getContainer(id).putArchive(archive as NodeJS.ReadableStream, { path }));
    },
    async exec(id, cmd) {
      const exec = await call(`exec in ${id}`, () => docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true }));
      const stream = await call(`exec in ${id}`, () => exec.start({ hijack: true, stdin: false }));
      const output = await readDemuxed(docker.modem, stream);
      const info = await exec.inspect();
      return { exitCode: info.ExitCode ?? 1, output };
    },
    async logs(id) {
      // Without `follow` the engine answers with the whole (multiplexed) log at once, as one buffer.
      const out = (await call(`logs of ${id}`, () => docker.getContainer(id).logs({ stdout: true, stderr: true, tail: 200 }))) as unknown as
        | Buffer
        | string;
      return readDemuxed(docker.modem, Readable.from([Buffer.isBuffer(out) ? out : Buffer.from(out)]));
    },
    async waitContainer(id) {
      const result = (await call(`wait for ${id}`, () => docker.getContainer(id).wait())) as { StatusCode?: number };
      return result.StatusCode ?? 1;
    },
    async commitContainer(id, labels) {
      const result = (await call(`commit ${id}`, () =>
        docker.getContainer(id).commit({ changes: Object.entries(labels).map(([k, v]) => `LABEL ${k}=${JSON.stringify(v)}`) }),
      )) as { Id: string };
      return result.Id;
    },
    async saveImage(reference) {
      return (await call(`save ${reference}`, () => docker.getImage(reference).get())) as unknown as Readable;
    },
    async createNetwork(name, labels) {
      const network = await call(`create network ${name}`, () =>
        docker.createNetwork({ Name: name, Labels: { ...labels, [Label.managed]: 'true' } }),
      );
      return network.id;
    },
    async removeNetwork(name) {
      await call(`remove network ${name}`, () => docker.getNetwork(name).remove()).catch((error: unknown) => {
        if ((error as EngineError).statusCode !== 404) throw error;
      });
    },
  };
  return engine;
}

/** A dockerode client and the call wrapper that classifies its errors (EngineError by status, EngineUnavailableError). */
export interface DockerConnection {
  docker: Docker;
  address: string;
  call<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Connects to a DOCKER_HOST-style address (unix:///…, tcp://…; absent: the default socket). For
 * this module and the swarm adapter beside it (src/engine/swarm/), which share the ownership of
 * dockerode: nothing else may hold the client.
 */
export async function openDocker(host: string | undefined): Promise<DockerConnection> {
  const { default: Docker } = await import('dockerode');
  let docker: Docker;
  let address: string;
  if (host === undefined || host === '') {
    address = 'unix:///var/run/docker.sock';
    docker = new Docker({ socketPath: '/var/run/docker.sock' });
  } else if (host.startsWith('unix://')) {
    address = host;
    docker = new Docker({ socketPath: host.slice('unix://'.length) });
  } else {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    address = host;
    docker = new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
  }
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what, address);
    }
  };
  return { docker, address, call };
}

/** Label filters as the engine API takes them: `key=value`, or `key` alone for any value. */
export function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => (v === '' ? k : `${k}=${v}`));
}

function toInfo(raw: Docker.ContainerInspectInfo): ContainerInfo {
  const ports: Record<number, number> = {};
  for (const [key, bindings] of Object.entries(raw.NetworkSettings?.Ports ?? {})) {
    const hostPort = bindings?.[0]?.HostPort;
    if (hostPort) ports[Number(key.split('/')[0])] = Number(hostPort);
  }
  return {
    id: raw.Id,
    name: raw.Name.replace(/^\//, ''),
    running: raw.State.Running,
    ports,
    labels: raw.Config.Labels ?? {},
    image: raw.Image,
  };
}

/** Waits for a progress stream to end; it succeeded only if no event carried an error. */
function followProgress(docker: Docker, stream: NodeJS.ReadableStream, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
      if (error) return reject(new EngineError(`${what} failed: ${error.message}`, undefined, { cause: error }));
      const failed = events.find((e) => e.error || e.errorDetail);
      if (failed) return reject(new EngineError(`${what} failed: ${failed.errorDetail?.message ?? failed.error}`, undefined));
      resolve();
    });
  });
}

/**
 * Stdout and stderr of an exec or log stream, interleaved as they arrived, once the stream ends.
 * Without a TTY Docker frames them in 8-byte-headed chunks; docker-modem's demuxer unframes them
 * (and passes a TTY's unframed stream through as it is).
 */
function readDemuxed(modem: Docker['modem'], stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = { write: (chunk: Buffer) => chunks.push(chunk) } as unknown as NodeJS.WritableStream;
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
    modem.demuxStream(stream, sink, sink);
  });
}

function classify(error: unknown, what: string, address: string): Error {
  const e = error as { statusCode?: number; code?: string; json?: { message?: string }; message?: string };
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT' || e.code === 'EACCES') return new EngineUnavailableError(address, { cause: error });
  const message = e.json?.message ?? e.message ?? String(error);
  return new EngineError(`${what}: ${message}`, e.statusCode, { cause: error });
}
