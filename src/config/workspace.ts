import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { InputError, type Problem } from '../util/errors.js';
import { statNow } from '../util/stat-now.js';
import type { Infer } from './spec-builder.js';
import { type environmentSpec, type serviceSpec, workspaceSpec } from './spec.js';
import type { EnvironmentConfig, ServiceConfig, WorkspaceConfig } from './types.js';
import { fieldPath, validate, validated } from './validate.js';
import { parseYamlTextCached } from './yaml-cache.js';
import { readLimitedText } from './yaml-limits.js';
import { nodeAt, stringAt, type YamlEntry, type YamlNode } from './yaml-node.js';

/** The workspace file's name; problems name it so, relative to the workspace. */
export const WORKSPACE_FILE = 'bake.yaml';

type ServiceFields = Infer<typeof serviceSpec>;
type EnvironmentFields = Infer<typeof environmentSpec>;

export interface LoadOptions {
  /**
   * Whether every service's source must be an existing directory (default true). A caller that
   * reads no source (a commit whose every tree was given or uploaded) passes false: a missing
   * directory it never reads is no reason to refuse it.
   */
  checkSources?: boolean;
}

/**
 * A workspace loaded without problems, by its directory: the exact bytes of its bake.yaml, the
 * parsed tree, and what it became. The next load that reads the same bytes reuses it (a long-lived
 * `bake serve` loads the workspace for every request); the file is read every time, so a changed
 * bake.yaml is seen by the very next load, however quickly it changed, and the checks against the
 * file system (sources) still run on each load.
 */
const loaded = new Map<string, { bytes: Buffer; doc: YamlNode; config: WorkspaceConfig }>();
const KEEP_LOADED = 16;

/**
 * Loads and validates `<dir>/bake.yaml`. Throws InputError listing every problem at once: a missing
 * file, YAML syntax, unknown keys, wrong types, missing or non-directory sources, bad or
 * overlapping install paths, environment ports naming unknown services — each at file:line:column.
 * Each call returns a config of its own (the caller may change it).
 */
export async function loadWorkspace(dir: string, options: LoadOptions = {}): Promise<WorkspaceConfig> {
  const root = resolve(dir);
  const file = join(root, WORKSPACE_FILE);
  const known = loaded.get(root);
  if (known) {
    // The same bytes as the last load: validated and converted then. Anything else (unreadable
    // included) is loaded in full below, which reports what is wrong.
    if (holds(file, known.bytes)) {
      const problems = options.checkSources === false ? [] : checkSources(root, entriesOf(nodeAt(known.doc, 'services')));
      if (problems.length > 0) throw new InputError(problems);
      return structuredClone(known.config);
    }
  }
  await requireWorkspaceFile(root, file);
  const text = await readLimitedText(file, WORKSPACE_FILE);
  const doc = await parseYamlTextCached(text, WORKSPACE_FILE);
  const problems = validate(doc, workspaceSpec, WORKSPACE_FILE);
  // The checks below look only at fields that are well-typed, so they add to the list rather than repeat it.
  const services = entriesOf(nodeAt(doc, 'services'));
  const sources = options.checkSources === false ? [] : checkSources(root, services);
  problems.push(...sources, ...checkInstallPaths(services), ...checkEnvironmentPorts(doc, services));
  if (problems.length > 0) throw new InputError(problems);

  const raw = validated(doc, workspaceSpec);
  const config: WorkspaceConfig = {
    dir: root,
    file,
    services: new Map(Object.entries(raw.services).map(([name, s]) => [name, toService(root, name, s)])),
    environments: new Map(Object.entries(raw.environments).map(([name, e]) => [name, toEnvironment(name, e)])),
    ...(raw.hooks !== undefined && { hooks: raw.hooks }),
  };
  loaded.delete(root);
  loaded.set(root, { bytes: Buffer.from(text, 'utf8'), doc, config: structuredClone(config) });
  // A process that loads many workspaces (tests) keeps the latest few.
  for (const oldest of loaded.keys()) {
    if (loaded.size <= KEEP_LOADED) break;
    loaded.delete(oldest);
  }
  return config;
}

/**
 * Whether `file` holds exactly `bytes` now: a read of at most one byte more, whatever the file's
 * size. Synchronous on purpose: reading a few KiB takes ~10 µs, a thread-pool round trip for each
 * of open, read and close ~60 µs more, on every request `bake serve` answers.
 */
function holds(file: string, bytes: Buffer): boolean {
  let fd: number | undefined;
  try {
    // Non-blocking, so that a FIFO put there cannot stall the process; anything but a regular file is a miss.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return false;
    const buffer = Buffer.allocUnsafe(bytes.length + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, length);
      length += read;
      if (read === 0 || length === buffer.length) break;
    }
    return length === bytes.length && buffer.subarray(0, length).equals(bytes);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function requireWorkspaceFile(root: string, file: string): Promise<void> {
  const [dirInfo, fileInfo] = await Promise.all([stat(root).catch(() => undefined), stat(file).catch(() => undefined)]);
  if (!dirInfo?.isDirectory()) {
    throw new InputError([
      {
        file: root,
        message: `cannot load the workspace: directory ${root} does not exist`,
        fix: 'run bake in the workspace, or point -C/--workspace at it',
      },
    ]);
  }
  if (!fileInfo) {
    throw new InputError([
      {
        file: WORKSPACE_FILE,
        message: `cannot load the workspace: no ${WORKSPACE_FILE} in ${root}`,
        fix: `create ${WORKSPACE_FILE} with a services: map (see README)`,
      },
    ]);
  }
}

function entriesOf(node: YamlNode | undefined): YamlEntry[] {
  return node?.kind === 'map' ? node.entries : [];
}

function at(node: YamlNode, field: string): Pick<Problem, 'file' | 'line' | 'column' | 'field'> {
  return { file: WORKSPACE_FILE, line: node.pos.line, column: node.pos.column, field };
}

/** Every service's source must be an existing directory: a typo here would otherwise surface at commit time. */
function checkSources(root: string, services: YamlEntry[]): Problem[] {
  // Synchronous stats: a few microseconds each, where 200 through the thread pool cost a monorepo's
  // command 3 ms of its main thread (and 6 ms one after another).
  const found = services.map(({ key: name, value }): Problem[] => {
    const node = nodeAt(value, 'source');
    const source = stringAt(node);
    if (node === undefined || source === undefined || source.startsWith('/')) return [];
    const info = statNow(resolve(root, source));
    const field = fieldPath(fieldPath('services', name), 'source');
    if (!info)
      return [
        {
          ...at(node, field),
          message: `source directory ${source} does not exist`,
          fix: `create ${source}, or correct the path; it is relative to ${root}`,
        },
      ];
    if (!info.isDirectory())
      return [
        {
          ...at(node, field),
          message: `source ${source} is not a directory`,
          fix: `point source at the service's directory, relative to ${root}`,
        },
      ];
    return [];
  });
  return found.flat();
}

/** `/srv/a/` and `/srv/./a` are one place; nested or equal install paths would overwrite each other's files. */
function checkInstallPaths(services: YamlEntry[]): Problem[] {
  // Comparing every pair is 40,000 comparisons for 200 services; pairs are compared only when one overlaps.
  if (!anyOverlap(services)) return [];
  const problems: Problem[] = [];
  const seen: { name: string; install: string }[] = [];
  for (const { key: name, value } of services) {
    const node = nodeAt(value, 'install');
    const written = stringAt(node);
    if (node === undefined || written === undefined || !written.startsWith('/')) continue;
    const install = normalizeInstall(written);
    const field = fieldPath(fieldPath('services', name), 'install');
    if (install === '/') {
      problems.push({
        ...at(node, field),
        message: `install path ${written} is the image root /`,
        fix: `install into a directory of its own, e.g. /srv/${name}`,
      });
      continue;
    }
    for (const other of seen) {
      const how =
        install === other.install
          ? 'the same path'
          : install.startsWith(`${other.install}/`)
            ? 'inside it'
            : other.install.startsWith(`${install}/`)
              ? 'containing it'
              : undefined;
      if (how) {
        problems.push({
          ...at(node, field),
          message: `install path ${install} overlaps service ${other.name}'s install path ${other.install} (${how})`,
          fix: `give each service a directory of its own, e.g. /srv/${name}`,
        });
      }
    }
    seen.push({ name, install });
  }
  return problems;
}

/**
 * Whether any install path is `/`, repeats another, or lies inside another: a lookup per level of
 * each path instead of a comparison per pair. (`b` inside `a` is `a` among `b`'s ancestors.)
 */
function anyOverlap(services: YamlEntry[]): boolean {
  const seen = new Set<string>();
  for (const { value } of services) {
    const written = stringAt(nodeAt(value, 'install'));
    if (written === undefined || !written.startsWith('/')) continue;
    const install = normalizeInstall(written);
    if (install === '/' || seen.has(install)) return true;
    seen.add(install);
  }
  for (const install of seen) {
    for (let up = install.slice(0, install.lastIndexOf('/')); up !== ''; up = up.slice(0, up.lastIndexOf('/'))) {
      if (seen.has(up)) return true;
    }
  }
  return false;
}

/** Environment ports are keyed by service; an unknown one would silently never be routed. */
function checkEnvironmentPorts(doc: YamlNode, services: YamlEntry[]): Problem[] {
  const names = services.map((s) => s.key);
  const problems: Problem[] = [];
  for (const env of entriesOf(nodeAt(doc, 'environments'))) {
    for (const port of entriesOf(nodeAt(env.value, 'ports'))) {
      if (names.includes(port.key)) continue;
      problems.push({
        file: WORKSPACE_FILE,
        line: port.keyPos.line,
        column: port.keyPos.column,
        field: fieldPath(fieldPath(fieldPath('environments', env.key), 'ports'), port.key),
        message: `no service named ${port.key} in services:`,
        fix: names.length > 0 ? `use one of: ${names.join(', ')}` : 'declare the service under services:',
      });
    }
  }
  return problems;
}

/** An absolute POSIX path in one spelling: no `.`/`..` segments, no trailing slash. */
function normalizeInstall(path: string): string {
  const normal = posix.normalize(path);
  return normal === '/' ? normal : normal.replace(/\/+$/, '');
}

function toService(root: string, name: string, s: ServiceFields): ServiceConfig {
  // `output: .` means the whole tree, the same as leaving it out; `dist/` and `dist` are one directory.
  const { output: written, ...fields } = s;
  const output = written === undefined ? undefined : posix.normalize(written).replace(/\/+$/, '');
  return {
    ...fields,
    name,
    source: resolve(root, s.source),
    sourceAsWritten: s.source,
    install: normalizeInstall(s.install),
    ...(output !== undefined && output !== '.' && { output }),
  };
}

function toEnvironment(name: string, e: EnvironmentFields): EnvironmentConfig {
  const { probation, ...fields } = e;
  return { ...fields, name, probationSeconds: probation };
}
