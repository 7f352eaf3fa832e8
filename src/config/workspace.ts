import { stat } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { InputError, type Problem } from '../errors.js';
import { workspaceSpec } from './spec.js';
import type { EnvironmentConfig, ServiceConfig, StrategyName, WorkspaceConfig } from './types.js';
import { validate } from './validate.js';
import { child, readYamlFile, toPlain } from './yaml-document.js';

export const WORKSPACE_FILE = 'bake.yaml';

interface RawEnvironment {
  image: string;
  replicas?: number;
  strategy?: StrategyName;
  ports?: Record<string, number>;
  batch?: number;
  canary?: { percent?: number; cohort?: string[] };
  probation?: number;
  test?: string;
  dev?: boolean;
}

interface RawService {
  source: string;
  build?: string;
  output?: string;
  install: string;
  run?: string;
  port?: number;
  health?: string;
  env?: Record<string, string>;
}

/**
 * Loads and validates `<dir>/bake.yaml`. Throws InputError listing every problem (syntax, unknown
 * keys, types, missing source directories, overlapping install paths) with file:line:column.
 */
export async function loadWorkspace(dir: string): Promise<WorkspaceConfig> {
  const file = join(dir, WORKSPACE_FILE);
  try {
    await stat(file);
  } catch {
    throw new InputError([{ file, message: 'no bake.yaml in this workspace', fix: 'run bake in (or pass -C) a directory with a bake.yaml that declares services: (see README)' }]);
  }
  const doc = await readYamlFile(file, WORKSPACE_FILE);
  const problems = validate(doc, workspaceSpec, WORKSPACE_FILE);
  if (problems.length > 0) throw new InputError(problems);

  const raw = toPlain(doc) as { services: Record<string, RawService>; environments?: Record<string, RawEnvironment> };
  const services = new Map<string, ServiceConfig>();
  const semantic: Problem[] = [];
  const where = (name: string, key: string) => {
    const node = child(child(child(doc, 'services'), name), key) ?? child(child(doc, 'services'), name);
    return { file: WORKSPACE_FILE, line: node?.pos.line ?? 1, column: node?.pos.column ?? 1, field: `services.${name}.${key}` };
  };
  for (const [name, s] of Object.entries(raw.services ?? {})) {
    const source = resolve(dir, s.source);
    const info = await stat(source).catch(() => undefined);
    if (!info?.isDirectory()) {
      semantic.push({ ...where(name, 'source'), message: `source directory ${s.source} does not exist`, fix: `create ${s.source} or correct the path (relative to ${dir})` });
    }
    const install = posix.normalize(s.install).replace(/\/+$/, '');
    if (install === '' || install === '/') {
      semantic.push({ ...where(name, 'install'), message: 'cannot install into /', fix: 'use a directory of its own, e.g. /srv/' + name });
    }
    services.set(name, {
      name,
      source,
      sourceAsWritten: s.source,
      install,
      env: s.env ?? {},
      ...(s.build !== undefined && { build: s.build }),
      ...(s.output !== undefined && { output: posix.normalize(s.output) }),
      ...(s.run !== undefined && { run: s.run }),
      ...(s.port !== undefined && { port: s.port }),
      ...(s.health !== undefined && { health: s.health }),
    });
  }
  const list = [...services.values()];
  for (const [i, a] of list.entries()) {
    for (const b of list.slice(i + 1)) {
      if (a.install === b.install || a.install.startsWith(`${b.install}/`) || b.install.startsWith(`${a.install}/`)) {
        semantic.push({ ...where(b.name, 'install'), message: `install path ${b.install} overlaps service ${a.name}'s ${a.install}`, fix: 'give each service a directory of its own' });
      }
    }
  }
  const environments = new Map<string, EnvironmentConfig>();
  for (const [name, e] of Object.entries(raw.environments ?? {})) {
    const node = child(child(doc, 'environments'), name);
    for (const service of Object.keys(e.ports ?? {})) {
      if (!services.has(service)) {
        const at = child(child(node, 'ports'), service) ?? node;
        semantic.push({ file: WORKSPACE_FILE, line: at?.pos.line ?? 1, column: at?.pos.column ?? 1, field: `environments.${name}.ports.${service}`, message: `no service named ${service}`, fix: `use one of: ${[...services.keys()].join(', ')}` });
      }
    }
    environments.set(name, {
      name,
      image: e.image,
      replicas: e.replicas ?? 1,
      strategy: e.strategy ?? 'rolling',
      ports: e.ports ?? {},
      batch: e.batch ?? 1,
      canary: { ...(e.canary?.percent !== undefined && { percent: e.canary.percent }), cohort: e.canary?.cohort ?? [] },
      probationSeconds: e.probation ?? 0,
      ...(e.test !== undefined && { test: e.test }),
      dev: e.dev ?? false,
    });
  }
  if (semantic.length > 0) throw new InputError(semantic);
  return { dir, file, services, environments };
}
