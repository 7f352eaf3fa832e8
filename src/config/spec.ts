/**
 * A tiny declarative description of the input files' fields. The validator and the JSON Schema
 * generator both read it, so what editors complete and what bake accepts never disagree.
 */
export type Spec =
  | { type: 'string'; description?: string; pattern?: RegExp; patternHint?: string; enum?: readonly string[] }
  | { type: 'integer'; description?: string; minimum?: number; maximum?: number }
  | { type: 'boolean'; description?: string }
  | { type: 'array'; description?: string; items: Spec; minItems?: number; unique?: boolean }
  | { type: 'object'; description?: string; properties: Record<string, Spec>; required?: readonly string[] }
  | { type: 'map'; description?: string; keyPattern?: RegExp; keyHint?: string; values: Spec }
  | { type: 'any'; description?: string }
  | { type: 'oneOf'; description?: string; options: readonly Spec[]; hint: string };

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ABSOLUTE = /^\/.+/;
const stringMap = (description: string): Spec => ({ type: 'map', description, values: { type: 'string' } });

export const serviceSpec: Spec = {
  type: 'object',
  description: 'A service: its source, how it is built, where it is installed and how it runs.',
  required: ['source', 'install'],
  properties: {
    source: { type: 'string', description: 'Directory of the service, relative to the workspace. Inside a git repository its committed tree (HEAD) is the version; otherwise the directory as it is.' },
    build: { type: 'string', description: 'Shell command run in a scratch copy of the committed tree before packing (SOURCE_DATE_EPOCH is set).' },
    output: { type: 'string', description: 'Sub-directory of the (built) tree to install; default: all of it.', pattern: /^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+/, patternHint: 'a relative path without ..' },
    install: { type: 'string', description: 'Absolute path the files are installed at inside the image, e.g. /srv/catalog.', pattern: ABSOLUTE, patternHint: 'an absolute path such as /srv/catalog' },
    run: { type: 'string', description: 'Command that starts the service inside the image (run with sh -c by the image entrypoint).' },
    port: { type: 'integer', description: 'TCP port the service listens on (exposed by images that contain it).', minimum: 1, maximum: 65535 },
    health: { type: 'string', description: 'HTTP path that answers 200 when the service is healthy, e.g. /healthz.', pattern: /^\//, patternHint: 'a path starting with /' },
    env: { type: 'map', description: 'Environment variables for the service process.', keyPattern: ENV_NAME, keyHint: 'letters, digits and _, not starting with a digit', values: { type: 'string' } },
  },
};

export const environmentSpec: Spec = {
  type: 'object',
  description: 'A deployment environment on the local Docker engine, behind a version-aware router on 127.0.0.1.',
  required: ['image'],
  properties: {
    image: { type: 'string', description: 'The image (recipe) this environment runs.', pattern: /^[a-z0-9][a-z0-9._-]{0,127}$/, patternHint: 'an image name' },
    replicas: { type: 'integer', description: 'Instances to run (default 1).', minimum: 1, maximum: 20 },
    strategy: { type: 'string', description: 'Default deploy strategy (default rolling).', enum: ['rolling', 'blue-green', 'canary', 'ab', 'recreate'] },
    ports: { type: 'map', description: 'Service → router port on 127.0.0.1 (0 or absent: any free port).', values: { type: 'integer', minimum: 0, maximum: 65535 } },
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
  description: 'bake workspace: the services whose committed versions bake records and packages.',
  required: ['services'],
  properties: {
    services: { type: 'map', description: 'Services by name.', keyPattern: NAME, keyHint: 'lower-case letters, digits and -', values: serviceSpec },
    environments: { type: 'map', description: 'Deployment environments by name.', keyPattern: /^[a-z0-9][a-z0-9._-]{0,62}$/, keyHint: 'lower-case letters, digits, ".", "_" and "-"', values: environmentSpec },
  },
};

export const recipeSpec: Spec = {
  type: 'object',
  description: 'bake recipe: how to bake one image.',
  required: ['services'],
  properties: {
    image: { type: 'string', description: 'Image name; default: the file name without .yaml.', pattern: /^[a-z0-9][a-z0-9._-]{0,127}$/, patternHint: 'lower-case letters, digits, ".", "_" and "-"' },
    bake: { type: 'string', description: 'heavy: every service layer inside the image. light: a base plus an agent; pinned versions are installed at deploy time.', enum: ['heavy', 'light'] },
    base: {
      type: 'oneOf',
      description: 'The base: scratch, a root filesystem (directory or tarball), or an image in an OCI layout.',
      hint: 'use `scratch`, `{rootfs: DIR-or-TAR}` or `{oci: LAYOUT-DIR, ref: NAME}`',
      options: [
        { type: 'string', enum: ['scratch'] },
        { type: 'object', required: ['rootfs'], properties: { rootfs: { type: 'string', description: 'A root filesystem directory or tar archive, relative to the workspace.' } } },
        {
          type: 'object',
          required: ['oci', 'ref'],
          properties: { oci: { type: 'string', description: 'An OCI image layout directory, relative to the workspace.' }, ref: { type: 'string', description: 'The image ref name inside that layout.' } },
        },
      ],
    },
    services: { type: 'array', description: 'Services the image contains, by name.', items: { type: 'string' }, minItems: 1, unique: true },
    provision: {
      type: 'array',
      description: 'Shell commands run (in order, in a Docker container of base + services) before the entrypoint layer; what they change becomes a layer. Needs a Docker engine; builds that use it are marked not reproducible.',
      items: { type: 'string' },
      minItems: 1,
    },
    entrypoint: { type: 'array', description: 'Overrides the generated supervisor entrypoint.', items: { type: 'string' }, minItems: 1 },
    env: { type: 'map', description: 'Environment variables of the image.', keyPattern: ENV_NAME, keyHint: 'letters, digits and _, not starting with a digit', values: { type: 'string' } },
    ports: { type: 'array', description: 'Exposed TCP ports; default: the ports of its services.', items: { type: 'integer', minimum: 1, maximum: 65535 }, unique: true },
    labels: stringMap('Image labels.'),
    platform: {
      type: 'object',
      description: 'Target platform; default linux/amd64.',
      required: ['os', 'architecture'],
      properties: { os: { type: 'string', enum: ['linux'] }, architecture: { type: 'string', description: 'e.g. amd64, arm64' } },
    },
  },
};
