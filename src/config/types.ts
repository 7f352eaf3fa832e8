/**
 * The validated shapes of the two input files. Loaders produce these only after every problem in
 * the file has been reported; the rest of the tool trusts them.
 */

/** One service declared in `<workspace>/bake.yaml`. */
export interface ServiceConfig {
  name: string;
  /** Source directory, absolute (resolved against the workspace). A git path or a plain directory. */
  source: string;
  /** Source directory as written in bake.yaml, for messages. */
  sourceAsWritten: string;
  /** Shell command run (with execa, `sh -c`) in a scratch copy of the committed tree before packing. */
  build?: string;
  /** Sub-directory of the (built) tree to install; default: all of it. */
  output?: string;
  /** Absolute path the files are installed at inside the image. */
  install: string;
  /** Command that starts the service inside the image (run by the image's entrypoint with `sh -c`). */
  run?: string;
  port?: number;
  /** HTTP path answering 200 when healthy. */
  health?: string;
  env: Record<string, string>;
}

export type StrategyName = 'rolling' | 'blue-green' | 'canary' | 'ab' | 'recreate';

/** One deployment environment declared in bake.yaml. */
export interface EnvironmentConfig {
  name: string;
  image: string;
  replicas: number;
  strategy: StrategyName;
  /** Service → router port on 127.0.0.1 (0: any free port). */
  ports: Record<string, number>;
  batch: number;
  canary: { percent?: number; cohort: string[] };
  probationSeconds: number;
  test?: string;
  dev: boolean;
}

export interface WorkspaceConfig {
  /** Absolute workspace directory. */
  dir: string;
  /** Absolute path of bake.yaml. */
  file: string;
  services: Map<string, ServiceConfig>;
  environments: Map<string, EnvironmentConfig>;
}

export type BaseConfig =
  | { kind: 'scratch' }
  /** A root filesystem as a directory or a tar archive (absolute path). */
  | { kind: 'rootfs'; path: string }
  /** An image in another OCI layout, by its ref name. */
  | { kind: 'oci'; layout: string; ref: string };

export type BakeLevel = 'heavy' | 'light';

/** One image recipe, `<workspace>/recipes/<name>.yaml`. */
export interface RecipeConfig {
  image: string;
  /** Absolute path of the recipe file. */
  file: string;
  bake: BakeLevel;
  base: BaseConfig;
  services: string[];
  /** Overrides the generated supervisor when set. */
  entrypoint?: string[];
  /** Shell commands run in a container of the partial image; their changes become a layer. */
  provision?: string[];
  env: Record<string, string>;
  /** Exposed TCP ports; default: the services' ports. */
  ports: number[];
  labels: Record<string, string>;
  platform: { os: string; architecture: string };
}
