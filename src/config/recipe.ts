import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { InputError, type Problem } from '../errors.js';
import { recipeSpec } from './spec.js';
import type { BaseConfig, RecipeConfig, WorkspaceConfig } from './types.js';
import { closest, validate } from './validate.js';
import { child, readYamlFile, toPlain, type YamlValue } from './yaml-document.js';

interface RawRecipe {
  image?: string;
  bake?: 'heavy' | 'light';
  base?: string | { rootfs: string } | { oci: string; ref: string };
  services: string[];
  entrypoint?: string[];
  provision?: string[];
  env?: Record<string, string>;
  ports?: number[];
  labels?: Record<string, string>;
  platform?: { os: string; architecture: string };
}

const RECIPES = 'recipes';

/** Recipe files in `<workspace>/recipes`, as paths relative to the workspace. */
async function recipeFiles(ws: WorkspaceConfig): Promise<string[]> {
  const names = await readdir(join(ws.dir, RECIPES)).catch(() => [] as string[]);
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => `${RECIPES}/${n}`);
}

/** Image names of every recipe in the workspace. Throws InputError if one is invalid. */
export async function listRecipes(ws: WorkspaceConfig): Promise<string[]> {
  const images = [];
  for (const file of await recipeFiles(ws)) images.push((await loadRecipeFile(ws, file)).image);
  return images;
}

/**
 * Loads the recipe for an image: `recipes/<name>.yaml` (or .yml), else the recipe whose `image:`
 * is `name`. Throws InputError for an unknown image (listing the known ones) or an invalid recipe.
 */
export async function loadRecipe(ws: WorkspaceConfig, name: string): Promise<RecipeConfig> {
  const files = await recipeFiles(ws);
  const direct = files.find((f) => f === `${RECIPES}/${name}.yaml` || f === `${RECIPES}/${name}.yml`);
  if (direct) return loadRecipeFile(ws, direct);
  const all = [];
  for (const file of files) {
    const recipe = await loadRecipeFile(ws, file);
    if (recipe.image === name) return recipe;
    all.push(recipe.image);
  }
  const near = closest(name, all);
  throw new InputError([
    {
      file: `${RECIPES}/${name}.yaml`,
      message: `no recipe for image ${name}`,
      fix: all.length === 0 ? `create ${RECIPES}/${name}.yaml` : near ? `did you mean ${near}? (recipes: ${all.join(', ')})` : `recipes: ${all.join(', ')}`,
    },
  ]);
}

async function loadRecipeFile(ws: WorkspaceConfig, display: string): Promise<RecipeConfig> {
  const file = join(ws.dir, display);
  const doc = await readYamlFile(file, display);
  const problems = validate(doc, recipeSpec, display);
  if (problems.length > 0) throw new InputError(problems);
  const raw = toPlain(doc) as RawRecipe;
  const semantic: Problem[] = [];
  const at = (node: YamlValue | undefined, field: string) => ({ file: display, line: node?.pos.line ?? 1, column: node?.pos.column ?? 1, field });

  raw.services.forEach((name, i) => {
    if (!ws.services.has(name)) {
      const near = closest(name, [...ws.services.keys()]);
      semantic.push({
        ...at(child(child(doc, 'services'), i), `services[${i}]`),
        message: `service ${name} is not declared in bake.yaml`,
        fix: near ? `did you mean ${near}?` : `declare it in bake.yaml, or use one of: ${[...ws.services.keys()].join(', ')}`,
      });
    }
  });
  const base = await resolveBase(ws, raw.base ?? 'scratch', at(child(doc, 'base'), 'base'), semantic);
  if (semantic.length > 0) throw new InputError(semantic);

  const ports = raw.ports ?? [...new Set(raw.services.map((s) => ws.services.get(s)?.port).filter((p) => p !== undefined))].sort((a, b) => a - b);
  return {
    image: raw.image ?? basename(display).replace(/\.ya?ml$/, ''),
    file,
    bake: raw.bake ?? 'heavy',
    base,
    services: raw.services,
    ...(raw.entrypoint !== undefined && { entrypoint: raw.entrypoint }),
    ...(raw.provision !== undefined && { provision: raw.provision }),
    env: raw.env ?? {},
    ports,
    labels: raw.labels ?? {},
    platform: raw.platform ?? { os: 'linux', architecture: 'amd64' },
  };
}

async function resolveBase(ws: WorkspaceConfig, base: NonNullable<RawRecipe['base']>, where: Omit<Problem, 'message'>, problems: Problem[]): Promise<BaseConfig> {
  if (typeof base === 'string') return { kind: 'scratch' };
  const path = 'rootfs' in base ? base.rootfs : base.oci;
  const absolute = resolve(ws.dir, path);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) {
    problems.push({ ...where, message: `base ${path} does not exist`, fix: 'rootfs' in base ? 'point rootfs at a root filesystem directory or tar archive' : 'point oci at an OCI image layout directory' });
  } else if ('oci' in base && !info.isDirectory()) {
    problems.push({ ...where, message: `base ${path} is not an OCI layout directory`, fix: 'point oci at a directory holding oci-layout and index.json' });
  }
  return 'rootfs' in base ? { kind: 'rootfs', path: absolute } : { kind: 'oci', layout: absolute, ref: base.ref };
}
