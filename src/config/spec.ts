/**
 * A tiny declarative description of the input files' fields. The validator (validate.ts) and the
 * JSON Schema generator (json-schema.ts) both read it, so what editors complete and what bake
 * accepts never disagree. Checks that need the file system or other fields (a source directory
 * exists, install paths do not overlap) live in the loaders.
 */

/** A string pattern with the words used to explain it: `expected ${says}`, e.g. "an absolute path". */
export interface Pattern {
  regex: RegExp;
  says: string;
}

export type Spec =
  | { type: 'string'; description?: string; pattern?: Pattern; enum?: readonly string[] }
  | { type: 'integer'; description?: string; minimum?: number; maximum?: number }
  | { type: 'boolean'; description?: string }
  | { type: 'array'; description?: string; items: Spec; minItems?: number; unique?: boolean }
  | { type: 'object'; description?: string; properties: Record<string, Spec>; required?: readonly string[] }
  | { type: 'map'; description?: string; keys?: Pattern; values: Spec }
  | { type: 'any'; description?: string }
  /**
   * Exactly one of several shapes. Object options are told apart by their first required key
   * (their discriminator), so a user's mistake is reported against the shape they meant.
   */
  | { type: 'oneOf'; description?: string; options: readonly Spec[]; says: string };

const SERVICE_NAME: Pattern = { regex: /^[a-z0-9][a-z0-9-]{0,62}$/, says: 'a name of lower-case letters, digits and -, starting with a letter or digit (at most 63)' };
const ENVIRONMENT_NAME: Pattern = { regex: /^[a-z0-9][a-z0-9._-]{0,62}$/, says: 'a name of lower-case letters, digits, ".", "_" and "-", starting with a letter or digit' };
export const IMAGE_NAME: Pattern = { regex: /^[a-z0-9][a-z0-9._-]{0,127}$/, says: 'an image name of lower-case letters, digits, ".", "_" and "-", starting with a letter or digit (at most 128)' };
const ENV_NAME: Pattern = { regex: /^[A-Za-z_][A-Za-z0-9_]*$/, says: 'a variable name of letters, digits and _, not starting with a digit' };
const RELATIVE_PATH: Pattern = { regex: /^(?!\/).+/, says: 'a path relative to the workspace, e.g. services/catalog' };
const ABSOLUTE_PATH: Pattern = { regex: /^\/./, says: 'an absolute path other than /, e.g. /srv/catalog' };
const INNER_PATH: Pattern = { regex: /^(?!\/)(?!(.*\/)?\.\.(\/|$)).+/, says: 'a relative path inside the tree, without ..' };
const URL_PATH: Pattern = { regex: /^\//, says: 'an HTTP path starting with /, e.g. /healthz' };

export const serviceSpec: Spec = {
  type: 'object',
  description: 'A service: its source, how it is built, where it is installed and how it runs.',
  required: ['source', 'install'],
  properties: {
    source: {
      type: 'string',
      description: 'Directory of the service, relative to the workspace. Inside a git repository its committed tree (HEAD) is the version; otherwise the directory as it is.',
      pattern: RELATIVE_PATH,
    },
    build: { type: 'string', description: 'Shell command run in a scratch copy of the committed tree before packing (SOURCE_DATE_EPOCH is set).' },
    output: { type: 'string', description: 'Sub-directory of the (built) tree to install; default: all of it.', pattern: INNER_PATH },
    install: { type: 'string', description: 'Absolute path the files are installed at inside the image, e.g. /srv/catalog.', pattern: ABSOLUTE_PATH },
    run: { type: 'string', description: 'Command that starts the service inside the image (run with sh -c by the image entrypoint).' },
    port: { type: 'integer', description: 'TCP port the service listens on (exposed by images that contain it).', minimum: 1, maximum: 65535 },
    health: { type: 'string', description: 'HTTP path that answers 200 when the service is healthy, e.g. /healthz.', pattern: URL_PATH },
    env: { type: 'map', description: 'Environment variables for the service process.', keys: ENV_NAME, values: { type: 'string' } },
  },
};

export const environmentSpec: Spec = {
  type: 'object',
  description: 'A deployment environment on the local Docker engine, behind a version-aware router on 127.0.0.1.',
  required: ['image'],
  properties: {
    image: { type: 'string', description: 'The image (recipe) this environment runs.', pattern: IMAGE_NAME },
    replicas: { type: 'integer', description: 'Instances to run (default 1).', minimum: 1, maximum: 20 },
    strategy: { type: 'string', description: 'Default deploy strategy (default rolling).', enum: ['rolling', 'blue-green', 'canary', 'ab', 'recreate'] },
    ports: { type: 'map', description: 'Service → router port on 127.0.0.1 (0 or absent: any free port).', keys: SERVICE_NAME, values: { type: 'integer', minimum: 0, maximum: 65535 } },
    batch: { type: 'integer', description: 'Rolling upgrades replace this many instances at a time (max surge; none is taken down first).', minimum: 1, maximum: 20 },
    canary: {
      type: 'object',
      description: 'Canary and A/B routing.',
      properties: {
        percent: { type: 'integer', description: 'Share of traffic the new release gets (default 10; A/B: 50).', minimum: 0, maximum: 100 },
        cohort: { type: 'array', description: 'Requests with x-bake-cohort set to one of these always go to the new release.', items: { type: 'string' } },
      },
    },
    probation: { type: 'integer', description: 'Seconds blue/green keeps the old instances before retiring them (default 0).', minimum: 0, maximum: 3600 },
    test: { type: 'string', description: 'Command `bake verify` runs against the environment (BAKE_URL_<SERVICE> is set for each router port).' },
    dev: { type: 'boolean', description: 'Accept --dev builds (from uncommitted working trees). Other environments refuse them.' },
  },
};

export const workspaceSpec: Spec = {
  type: 'object',
  description: 'bake workspace (bake.yaml): the services whose committed versions bake records and packages, and where they are deployed.',
  required: ['services'],
  properties: {
    services: { type: 'map', description: 'Services by name.', keys: SERVICE_NAME, values: serviceSpec },
    environments: { type: 'map', description: 'Deployment environments by name.', keys: ENVIRONMENT_NAME, values: environmentSpec },
  },
};

export const recipeSpec: Spec = {
  type: 'object',
  description: 'bake recipe (recipes/NAME.yaml): how to bake one image.',
  required: ['services'],
  properties: {
    image: { type: 'string', description: 'Image name; default: the file name without .yaml.', pattern: IMAGE_NAME },
    bake: {
      type: 'string',
      description: 'heavy (default): every service layer inside the image. light: a base plus an agent; pinned versions are installed at deploy time.',
      enum: ['heavy', 'light'],
    },
    base: {
      type: 'oneOf',
      description: 'The base (default scratch): scratch, a root filesystem (directory or tar archive), or an image in an OCI layout.',
      says: 'scratch, {rootfs: DIR-or-TAR} or {oci: LAYOUT-DIR, ref: NAME}',
      options: [
        { type: 'string', description: 'An empty base.', enum: ['scratch'] },
        {
          type: 'object',
          description: 'A root filesystem directory or tar archive.',
          required: ['rootfs'],
          properties: { rootfs: { type: 'string', description: 'A root filesystem directory or tar archive, relative to the workspace.', pattern: RELATIVE_PATH } },
        },
        {
          type: 'object',
          description: 'An image in an OCI image layout.',
          required: ['oci', 'ref'],
          properties: {
            oci: { type: 'string', description: 'An OCI image layout directory, relative to the workspace.', pattern: RELATIVE_PATH },
            ref: { type: 'string', description: 'The image ref name inside that layout (org.opencontainers.image.ref.name).' },
          },
        },
      ],
    },
    services: { type: 'array', description: 'Services the image contains, by their names in bake.yaml.', items: { type: 'string' }, minItems: 1, unique: true },
    provision: {
      type: 'array',
      description: 'Shell commands run (in order, in a Docker container of base + services) before the entrypoint layer; what they change becomes a layer. Needs bake: heavy and a Docker engine; builds that use it are marked not reproducible.',
      items: { type: 'string' },
      minItems: 1,
    },
    entrypoint: { type: 'array', description: 'Overrides the generated supervisor entrypoint.', items: { type: 'string' }, minItems: 1 },
    env: { type: 'map', description: 'Environment variables of the image.', keys: ENV_NAME, values: { type: 'string' } },
    ports: { type: 'array', description: 'Exposed TCP ports; default: the ports of its services.', items: { type: 'integer', minimum: 1, maximum: 65535 }, unique: true },
    labels: { type: 'map', description: 'Image labels (OCI annotations style keys, string values).', values: { type: 'string' } },
    platform: {
      type: 'object',
      description: 'Target platform; default linux/amd64.',
      required: ['os', 'architecture'],
      properties: {
        os: { type: 'string', description: 'Only linux images are baked.', enum: ['linux'] },
        architecture: { type: 'string', description: 'A GOARCH value, e.g. amd64 or arm64.', pattern: { regex: /^[a-z0-9]+$/, says: 'a GOARCH value such as amd64 or arm64' } },
      },
    },
  },
};
