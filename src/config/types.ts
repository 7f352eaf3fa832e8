import type { Infer } from './spec-builder.js';
import type { environmentSpec, hooksSpec, recipeSpec, serviceSpec } from './spec.js';

/**
 * The validated shapes of the two input files. Loaders produce these only after every problem in
 * the file has been reported; the rest of the tool trusts them. The fields come from the specs
 * (spec.ts, defaults applied); only what a loader resolves or adds is declared here.
 */

export type { StrategyName } from './names.js';

/** One service declared in `<workspace>/bake.yaml`; `output` is normalized and never `.`. */
export interface ServiceConfig extends Infer<typeof serviceSpec> {
  name: string;
  /** Source directory, absolute (resolved against the workspace). A git path or a plain directory. */
  source: string;
  /** Source directory as written in bake.yaml, for messages. */
  sourceAsWritten: string;
  /** Absolute path the files are installed at inside the image, normalized (no `.`, `..` or trailing /). */
  install: string;
}

/** One deployment environment declared in bake.yaml. */
export interface EnvironmentConfig extends Omit<Infer<typeof environmentSpec>, 'probation'> {
  name: string;
  /** bake.yaml's `probation`: seconds blue/green keeps the old instances. */
  probationSeconds: number;
}

export interface WorkspaceConfig {
  /** Absolute workspace directory. */
  dir: string;
  /** Absolute path of bake.yaml. */
  file: string;
  services: Map<string, ServiceConfig>;
  environments: Map<string, EnvironmentConfig>;
  /** bake.yaml's `hooks:` (revoke notifications), when it has them. */
  hooks?: Infer<typeof hooksSpec>;
}

export type BaseConfig =
  | { kind: 'scratch' }
  /** A root filesystem as a directory or a tar archive (absolute path). */
  | { kind: 'rootfs'; path: string }
  /** An image in another OCI layout, by its ref name. */
  | { kind: 'oci'; layout: string; ref: string };

/** One image recipe, `<workspace>/recipes/<name>.yaml`. */
export interface RecipeConfig extends Omit<Infer<typeof recipeSpec>, 'image' | 'base' | 'ports'> {
  /** The recipe's `image:`, else its file name. */
  image: string;
  /** Absolute path of the recipe file. */
  file: string;
  base: BaseConfig;
  /** Exposed TCP ports; default: the services' ports, in numeric order. */
  ports: number[];
}

export type BakeLevel = RecipeConfig['bake'];
