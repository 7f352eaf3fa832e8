import { readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError, type Problem } from '../util/errors.js';
import type { Infer } from './spec-builder.js';
import { IMAGE_NAME, recipeSpec } from './spec.js';
import type { BaseConfig, RecipeConfig, WorkspaceConfig } from './types.js';
import { closest, fieldPath, validate, validated } from './validate.js';
import { readYamlFileCached } from './yaml-cache.js';
import { entryAt, nodeAt, stringAt, type YamlNode } from './yaml-node.js';

/** Where recipes live, relative to the workspace. */
export const RECIPES_DIR = 'recipes';

type RecipeFields = Infer<typeof recipeSpec>;

/** A recipe file as found on disk: absolute path and how problems name it. */
interface RecipeFile {
  path: string;
  display: string;
}

/** A recipe file with the image it declares; undefined when the file cannot be read or parsed. */
interface Declared extends RecipeFile {
  image: string | undefined;
}

/**
 * Image names of every recipe in `<workspace>/recipes`, in file-name order. Loads each one, so
 * throws InputError with the problems of every invalid recipe at once, and when two recipes
 * bake the same image.
 */
export async function listRecipes(ws: WorkspaceConfig): Promise<string[]> {
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  for (const file of await recipeFiles(ws)) {
    const loaded = await collect(loadRecipeFile(ws, file.path), problems);
    if (!loaded) continue;
    const { recipe, doc } = loaded;
    const other = seen.get(recipe.image);
    if (other === undefined) {
      seen.set(recipe.image, file.display);
      continue;
    }
    const node = nodeAt(doc, 'image');
    problems.push({
      file: file.display,
      line: node?.pos.line ?? 1,
      column: node?.pos.column ?? 1,
      field: 'image',
      message: `image ${recipe.image} is also baked by ${other}`,
      fix: node ? 'give each recipe its own image: name' : `add image: with a name of its own (the file name ${recipe.image} is taken)`,
    });
  }
  if (problems.length > 0) throw new InputError(problems);
  return [...seen.keys()];
}

/**
 * Loads the recipe for an image. `nameOrPath` is an image name — `recipes/<name>.yaml` (or .yml),
 * else the recipe whose `image:` is that name — or a path to a recipe file (it contains `/` or
 * ends in .yaml/.yml), relative to the workspace. Throws InputError for an unknown image
 * (listing the recipes there are), an ambiguous one, or an invalid recipe (every problem in it).
 */
export async function loadRecipe(ws: WorkspaceConfig, nameOrPath: string): Promise<RecipeConfig> {
  if (nameOrPath.includes('/') || /\.ya?ml$/.test(nameOrPath)) {
    const path = resolve(ws.dir, nameOrPath);
    return (await loadRecipeFile(ws, path)).recipe;
  }
  const files = await recipeFiles(ws);
  const byFile = files.filter((f) => stem(f.path) === nameOrPath);
  // Reading every recipe's image: costs a parse each; do it only when no file is named for the image.
  const declared =
    byFile.length > 0 ? [] : await Promise.all(files.map(async (f): Promise<Declared> => ({ ...f, image: await peekImage(f.path) })));
  const matches = byFile.length > 0 ? byFile : declared.filter((f) => f.image === nameOrPath);
  const [match, ...others] = matches;
  if (match && others.length === 0) return (await loadRecipeFile(ws, match.path)).recipe;
  if (match) {
    throw new InputError([
      {
        file: match.display,
        message: `image ${nameOrPath} is ambiguous: ${matches.map((f) => f.display).join(' and ')} both ${byFile.length > 0 ? 'are named for it' : 'declare it'}`,
        fix: byFile.length > 0 ? 'remove one of the two files' : 'give each recipe its own image: name',
      },
    ]);
  }
  throw new InputError([unknownImage(nameOrPath, declared), ...(await unreadable(declared))]);
}

function unknownImage(name: string, files: Declared[]): Problem {
  const images = [...new Set(files.flatMap((f) => (f.image === undefined ? [] : [f.image])))];
  const near = closest(name, images);
  const fix =
    images.length === 0
      ? `create ${RECIPES_DIR}/${name}.yaml with services: [...] (see README)`
      : near
        ? `did you mean ${near}? Known images: ${images.join(', ')}`
        : `use one of: ${images.join(', ')}, or create ${RECIPES_DIR}/${name}.yaml`;
  return { file: `${RECIPES_DIR}/${name}.yaml`, message: `no recipe for image ${name}`, fix };
}

/** The problems of recipes whose image name could not be read: the one wanted may be among them. */
async function unreadable(files: Declared[]): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const file of files.filter((f) => f.image === undefined)) await collect(readYamlFileCached(file.path, file.display), problems);
  return problems;
}

/** Recipe files in `<workspace>/recipes`, sorted by name; none when the directory is missing. */
async function recipeFiles(ws: WorkspaceConfig): Promise<RecipeFile[]> {
  const dir = join(ws.dir, RECIPES_DIR);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  // Dot-files are editors' and tools' scratch files, never recipes.
  const names = entries.filter((e) => !e.isDirectory() && !e.name.startsWith('.') && /\.ya?ml$/.test(e.name)).map((e) => e.name);
  return names.sort().map((name) => ({ path: join(dir, name), display: displayPath(ws, join(dir, name)) }));
}

/** The image a recipe file declares, or undefined when the file cannot be read or parsed. */
async function peekImage(path: string): Promise<string | undefined> {
  try {
    const doc = await readYamlFileCached(path, path);
    return nodeAt(doc, 'image') === undefined ? stem(path) : stringAt(nodeAt(doc, 'image'));
  } catch {
    return undefined;
  }
}

/** Loads, validates and resolves one recipe file. Throws InputError with every problem in it. */
async function loadRecipeFile(ws: WorkspaceConfig, path: string): Promise<{ recipe: RecipeConfig; doc: YamlNode }> {
  const display = displayPath(ws, path);
  const doc = await readYamlFileCached(path, display);
  const problems = validate(doc, recipeSpec, display);
  if (doc.kind === 'map') {
    // These look only at well-typed fields, so they add to the structural problems rather than repeat them.
    problems.push(
      ...checkDefaultImage(doc, display, stem(path)),
      ...checkServices(ws, doc, display),
      ...(await checkBase(ws, doc, display)),
      ...checkProvision(doc, display),
    );
  }
  if (problems.length > 0) throw new InputError(problems);

  const { image, base, ports, ...fields } = validated(doc, recipeSpec);
  // Default ports: what the services listen on, once each, in numeric order (the config must not depend on list order).
  const declared = fields.services.flatMap((name) => {
    const port = ws.services.get(name)?.port;
    return port === undefined ? [] : [port];
  });
  const recipe: RecipeConfig = {
    ...fields,
    image: image ?? stem(path),
    file: path,
    base: toBase(ws, base),
    ports: ports ?? [...new Set(declared)].sort((a, b) => a - b),
  };
  return { recipe, doc };
}

/** Without `image:` the file name is the image name, so it must be a valid one. */
function checkDefaultImage(doc: YamlNode, display: string, name: string): Problem[] {
  if (nodeAt(doc, 'image') !== undefined || IMAGE_NAME.regex.test(name)) return [];
  return [
    {
      file: display,
      line: 1,
      column: 1,
      field: 'image',
      message: `the file name ${name} is not ${IMAGE_NAME.says}, and there is no image: to name the image`,
      fix: `add image: with a valid name, or rename the file`,
    },
  ];
}

/** Every listed service must be declared in bake.yaml; the problem lands on the list item. */
function checkServices(ws: WorkspaceConfig, doc: YamlNode, display: string): Problem[] {
  const list = nodeAt(doc, 'services');
  if (list?.kind !== 'seq') return [];
  const known = [...ws.services.keys()];
  const problems: Problem[] = [];
  list.items.forEach((item, i) => {
    const name = stringAt(item);
    if (name === undefined || ws.services.has(name)) return;
    const near = closest(name, known);
    problems.push({
      file: display,
      line: item.pos.line,
      column: item.pos.column,
      field: fieldPath('services', i),
      message: `service ${name} is not declared in bake.yaml`,
      fix: near
        ? `did you mean ${near}? Declared services: ${known.join(', ')}`
        : `declare it under services: in bake.yaml${known.length > 0 ? `, or use one of: ${known.join(', ')}` : ''}`,
    });
  });
  return problems;
}

/** A base path must exist now: finding out after the service layers are built wastes the bake. */
async function checkBase(ws: WorkspaceConfig, doc: YamlNode, display: string): Promise<Problem[]> {
  const base = nodeAt(doc, 'base');
  if (base?.kind !== 'map') return [];
  const rootfs = nodeAt(base, 'rootfs');
  const oci = nodeAt(base, 'oci');
  // Both at once is a structural problem validate() already reported.
  if (rootfs !== undefined && oci !== undefined) return [];
  const node = rootfs ?? oci;
  const path = stringAt(node);
  if (node === undefined || path === undefined || path.startsWith('/')) return [];
  const where = { file: display, line: node.pos.line, column: node.pos.column, field: fieldPath('base', rootfs ? 'rootfs' : 'oci') };
  const info = await stat(resolve(ws.dir, path)).catch(() => undefined);
  if (rootfs) {
    if (!info)
      return [
        {
          ...where,
          message: `base root filesystem ${path} does not exist`,
          fix: `point rootfs at a root filesystem directory or tar archive, relative to ${ws.dir}; or use base: scratch`,
        },
      ];
    if (!info.isDirectory() && !info.isFile())
      return [
        {
          ...where,
          message: `base root filesystem ${path} is neither a directory nor a file`,
          fix: 'point rootfs at a root filesystem directory or tar archive',
        },
      ];
    return [];
  }
  if (!info)
    return [
      {
        ...where,
        message: `base OCI layout ${path} does not exist`,
        fix: `point oci at an OCI image layout directory, relative to ${ws.dir}; or use base: scratch`,
      },
    ];
  const index = await stat(join(resolve(ws.dir, path), 'index.json')).catch(() => undefined);
  if (!info.isDirectory() || !index?.isFile())
    return [
      {
        ...where,
        message: `base ${path} is not an OCI image layout (no index.json in it)`,
        fix: 'point oci at a directory holding oci-layout and index.json',
      },
    ];
  return [];
}

/** Provisioning runs in a container of the full image, which a light bake never assembles. */
function checkProvision(doc: YamlNode, display: string): Problem[] {
  const provision = entryAt(doc, 'provision');
  if (!provision || stringAt(nodeAt(doc, 'bake')) !== 'light') return [];
  return [
    {
      file: display,
      line: provision.keyPos.line,
      column: provision.keyPos.column,
      field: 'provision',
      message: 'provision needs bake: heavy (a light image holds no services to provision)',
      fix: 'use bake: heavy, or move the commands into a service build',
    },
  ];
}

function toBase(ws: WorkspaceConfig, base: RecipeFields['base']): BaseConfig {
  if (typeof base === 'string') return { kind: 'scratch' };
  if ('rootfs' in base) return { kind: 'rootfs', path: resolve(ws.dir, base.rootfs) };
  return { kind: 'oci', layout: resolve(ws.dir, base.oci), ref: base.ref };
}

/** How problems name a file: relative to the workspace when inside it, else absolute. */
function displayPath(ws: WorkspaceConfig, path: string): string {
  const rel = relative(ws.dir, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel.split(sep).join('/');
}

function stem(path: string): string {
  return basename(path).replace(/\.ya?ml$/, '');
}

/** Awaits `promise`; an InputError's problems go to `problems` (and undefined is returned), anything else is rethrown. */
async function collect<T>(promise: Promise<T>, problems: Problem[]): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}
