import * as names from './names.js';
import { array, boolean, integer, map, object, oneOf, string, type Pattern } from './spec-builder.js';

/**
 * The one declaration of the input files' fields: the validator and the JSON Schema generator read
 * these specs, and types.ts derives the TypeScript shapes of the loaded config from them, so what
 * editors complete, what bake accepts and what the code sees never disagree. Checks that need the
 * file system or other fields (a source directory exists, install paths do not overlap) live in
 * the loaders.
 */

const SERVICE_NAME: Pattern = { regex: names.SERVICE_NAME, says: names.SERVICE_NAME_SAYS };
const ENVIRONMENT_NAME: Pattern = { regex: names.ENVIRONMENT_NAME, says: `a name of ${names.ENVIRONMENT_NAME_SAYS}` };
/** How an image (recipe) name must look; recipe.ts also checks file names against it. */
export const IMAGE_NAME: Pattern = { regex: names.IMAGE_NAME, says: names.IMAGE_NAME_SAYS };
const ENV_NAME: Pattern = {
  regex: /^[A-Za-z_][A-Za-z0-9_]*$/,
  says: 'a variable name of letters, digits and _, not starting with a digit',
};
const RELATIVE_PATH: Pattern = { regex: /^(?!\/).+/, says: 'a path relative to the workspace, e.g. services/catalog' };
const ABSOLUTE_PATH: Pattern = { regex: /^\/./, says: 'an absolute path other than /, e.g. /srv/catalog' };
const INNER_PATH: Pattern = { regex: /^(?!\/)(?!(.*\/)?\.\.(\/|$)).+/, says: 'a relative path inside the tree, without ..' };
const URL_PATH: Pattern = { regex: /^\//, says: 'an HTTP path starting with /, e.g. /healthz' };

const INTERFACE_NAME: Pattern = {
  regex: /^[a-z0-9][a-z0-9._-]{0,62}$/,
  says: 'an interface name of lower-case letters, digits, ".", "_" and "-" (at most 63), e.g. orders-api',
};
const MIGRATION_NUMBER: Pattern = { regex: /^[1-9][0-9]{0,5}$/, says: 'a migration number 1, 2, 3…' };

const providesSpec = map(integer({ description: 'The major version of the interface it provides.', minimum: 0, maximum: 1000000 }), {
  description: 'Interfaces this service provides: name → major version, e.g. {orders-api: 3}.',
  keys: INTERFACE_NAME,
});
const requiresSpec = map(string({ description: 'A semver range of the majors it works with, e.g. ">=2 <4" or ^3.' }), {
  description:
    'Interfaces this service calls: name → semver range. The release gate refuses a rollout during which a running provider is outside it.',
  keys: INTERFACE_NAME,
});
const migrateSpec = string({
  description:
    'Host command (sh -c, in the source directory) that runs one migration: BAKE_MIGRATION, BAKE_MIGRATION_KIND, BAKE_SERVICE, BAKE_ENV are set; the database URL comes from the environment bake runs in.',
});
/** The schema fields that change with the code (bake.yaml's `schema:` or an interfaces file's). */
const schemaLevels = {
  reads: integer({ description: 'The schema (migration number) the code reads; default: writes, else 0.', minimum: 0, maximum: 999999 }),
  writes: integer({ description: 'The schema (migration number) the code writes; default: reads.', minimum: 0, maximum: 999999 }),
  migrations: map(string({ description: 'expand (adds only) or contract (drops).', enum: ['expand', 'contract'] }), {
    description: 'Migration number → expand or contract, every one up to max(reads, writes).',
    keys: MIGRATION_NUMBER,
  }),
};

/** A service's interfaces file (`interfaces: FILE`): what its version declares, committed with its code. */
export const interfacesFileSpec = object({
  description: 'What a service version declares: the interfaces it provides and requires, and the schema its code needs.',
  properties: {
    provides: providesSpec,
    requires: requiresSpec,
    schema: object({ description: 'The database schema the code needs.', properties: schemaLevels }),
  },
});

/** One entry of bake.yaml's `services:`. */
export const serviceSpec = object({
  description: 'A service: its source, how it is built, where it is installed and how it runs.',
  required: ['source', 'install'],
  defaults: { env: {} },
  properties: {
    source: string({
      description:
        'Directory of the service, relative to the workspace. Inside a git repository its committed tree (HEAD) is the version; otherwise the directory as it is.',
      pattern: RELATIVE_PATH,
    }),
    build: string({ description: 'Shell command run in a scratch copy of the committed tree before packing (SOURCE_DATE_EPOCH is set).' }),
    output: string({ description: 'Sub-directory of the (built) tree to install; default: all of it.', pattern: INNER_PATH }),
    install: string({
      description: 'Absolute path the files are installed at inside the image, e.g. /srv/catalog.',
      pattern: ABSOLUTE_PATH,
    }),
    run: string({ description: 'Command that starts the service inside the image (run with sh -c by the image entrypoint).' }),
    port: integer({ description: 'TCP port the service listens on (exposed by images that contain it).', minimum: 1, maximum: 65535 }),
    health: string({ description: 'HTTP path that answers 200 when the service is healthy, e.g. /healthz.', pattern: URL_PATH }),
    env: map(string(), { description: 'Environment variables for the service process.', keys: ENV_NAME }),
    provides: providesSpec,
    requires: requiresSpec,
    interfaces: string({
      description:
        'A YAML or JSON file among the files the service installs (its committed tree, or `output`), declaring provides, requires and schema (reads, writes, migrations) with the code; read at commit time and recorded with the version. Those fields are then not declared here.',
      pattern: INNER_PATH,
    }),
    schema: object({
      description:
        'The database schema the code needs, and how to migrate it (expand before new instances start, contract after the old ones are gone).',
      properties: { ...schemaLevels, migrate: migrateSpec },
    }),
  },
});

const canarySpec = object({
  description: 'Canary and A/B routing.',
  defaults: { cohort: [] },
  properties: {
    percent: integer({ description: 'Share of traffic the new release gets (default 10; A/B: 50).', minimum: 0, maximum: 100 }),
    cohort: array(string(), { description: 'Requests with x-bake-cohort set to one of these always go to the new release.' }),
    steps: array(
      object({
        description: 'One step of the ramp: the canary gets `percent` of the traffic for `pause` seconds, then the step is judged.',
        required: ['percent'],
        properties: {
          percent: integer({ description: 'Share of traffic the canary gets in this step.', minimum: 1, maximum: 100 }),
          pause: integer({ description: 'Seconds the step lasts before it is judged (default 30).', minimum: 0, maximum: 86400 }),
        },
      }),
      {
        description: 'A gradual ramp, e.g. 5 → 25 → 50 → 100; each step is judged by `analysis`, and passing the last promotes.',
        minItems: 1,
      },
    ),
    analysis: object({
      description: "The abort rule each step is judged by, from the router's own counts.",
      properties: {
        minRequests: integer({
          description: 'Fewer canary requests than this in a step is inconclusive: the rollout pauses (default 50).',
          minimum: 1,
          maximum: 1000000,
        }),
        maxErrorPercent: integer({
          description: 'A canary error rate (5xx and connection failures) above this percentage withdraws it (default 5).',
          minimum: 0,
          maximum: 100,
        }),
        maxP99Percent: integer({
          description: 'A canary p99 latency above this percentage of the stable p99 withdraws it (e.g. 150).',
          minimum: 100,
          maximum: 100000,
        }),
      },
    }),
  },
});

const DOCKER_HOST_URL: Pattern = {
  regex: /^(unix:\/\/\/\S+|tcp:\/\/[^\s/?#@]+)$/,
  says: 'a DOCKER_HOST-style URL: unix:///path/to/docker.sock or tcp://HOST:PORT',
};
const REGISTRY_REPO: Pattern = {
  regex: /^[a-z0-9.-]+(:[0-9]{1,5})?\/[a-z0-9._-]+(\/[a-z0-9._-]+)*$/,
  says: 'a registry and repository, HOST[:PORT]/REPO, e.g. registry.example:5000/shop',
};
const NODE_LABEL: Pattern = { regex: /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, says: 'a node label key, e.g. zone' };

/** An environment's `engine:` (default local): the one Docker engine, or a Docker Swarm. */
export const engineSpec = oneOf({
  description: 'Where the environment runs: local (the Docker engine of DOCKER_HOST, the default) or {swarm: {host, registry}}.',
  says: 'local or {swarm: {host: unix:///…|tcp://…, registry: HOST:PORT/REPO}}',
  options: [
    string({ description: 'The local Docker engine (DOCKER_HOST, else the default socket).', enum: ['local'] }),
    object({
      description: 'A Docker Swarm: environments run as swarm services whose images every node pulls by digest.',
      required: ['swarm'],
      properties: {
        swarm: object({
          description: "The swarm's manager and the registry its nodes pull from.",
          required: ['host', 'registry'],
          properties: {
            host: string({ description: 'The manager, as DOCKER_HOST would name it.', pattern: DOCKER_HOST_URL }),
            registry: string({
              description: 'Where bake pushes the image before deploying repo@sha256:… (HOST:PORT/REPO, reachable by every node).',
              pattern: REGISTRY_REPO,
            }),
            router: integer({
              description:
                'Run the version-aware router inside the swarm: this many replicas of a service bake bakes itself, reaching tasks over an overlay network (absent: the router runs on 127.0.0.1).',
              minimum: 1,
              maximum: 9,
            }),
          },
        }),
      },
    }),
  ],
});

/** One entry of bake.yaml's `environments:`. */
export const environmentSpec = object({
  description:
    'A deployment environment on the local Docker engine or a Docker Swarm (engine), behind a version-aware router on 127.0.0.1.',
  required: ['image'],
  defaults: { replicas: 1, strategy: 'rolling', ports: {}, batch: 1, canary: { cohort: [] }, probation: 0, dev: false },
  properties: {
    image: string({ description: 'The image (recipe) this environment runs.', pattern: IMAGE_NAME }),
    replicas: integer({ description: 'Instances to run (default 1).', minimum: 1, maximum: 20 }),
    strategy: string({ description: 'Default deploy strategy (default rolling).', enum: names.STRATEGIES }),
    ports: map(integer({ minimum: 0, maximum: 65535 }), {
      description: 'Service → router port on 127.0.0.1 (0 or absent: any free port).',
      keys: SERVICE_NAME,
    }),
    batch: integer({
      description: 'Rolling upgrades replace this many instances at a time (max surge; none is taken down first).',
      minimum: 1,
      maximum: 20,
    }),
    canary: canarySpec,
    probation: integer({
      description: 'Seconds blue/green keeps the old instances before retiring them (default 0).',
      minimum: 0,
      maximum: 3600,
    }),
    test: string({ description: 'Command `bake verify` runs against the environment (BAKE_URL_<SERVICE> is set for each router port).' }),
    dev: boolean({ description: 'Accept --dev builds (from uncommitted working trees). Other environments refuse them.' }),
    preview: boolean({ description: 'Blue/green: the new fleet answers on preview ports first; the switch waits for bake promote.' }),
    progressDeadline: integer({
      description: 'Seconds a rollout may make no progress before it is aborted (default 600).',
      minimum: 1,
      maximum: 86400,
    }),
    engine: engineSpec,
    spread: string({
      description: 'Swarm: spread replicas evenly over the values of this node label (node.labels.<spread>), e.g. zone.',
      pattern: NODE_LABEL,
    }),
  },
});

const HTTP_URL: Pattern = { regex: /^https?:\/\/[^\s/?#@]+(\/\S*)?$/, says: 'an http:// or https:// URL without credentials in it' };

/** bake.yaml's `hooks:`: whom bake tells when a version is revoked. Operator configuration: no request can change it. */
export const hooksSpec = object({
  description: 'Commands and URLs bake tells when something happens.',
  properties: {
    revoked: string({
      description:
        'Shell command run in the workspace after bake revoke or unrevoke, with a JSON document on standard input: the versions, why, who and when, the version to use, and every environment, build and image digest that holds them. It gets no secrets in its environment; a failure is reported and does not undo the revocation.',
    }),
    webhook: string({ description: 'URL the same JSON document is POSTed to after bake revoke or unrevoke.', pattern: HTTP_URL }),
  },
});

const BLOB_REGISTRY: Pattern = {
  regex: /^[A-Za-z0-9.-]+(:[0-9]+)?\/[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
  says: 'REGISTRY/REPOSITORY with the host and its port, e.g. 127.0.0.1:5000/bake-blobs',
};

/** bake.yaml's `blobs:`: where a shared deployment keeps its blobs besides the local OCI layout. */
export const blobsSpec = object({
  description:
    'Where the blobs (service layers, image configs and manifests) live when the state is shared; the local OCI layout .bake/store stays the cache.',
  required: ['registry'],
  properties: {
    registry: string({
      description:
        'An OCI registry repository (HOST:PORT/REPO) every blob is uploaded to before a record names it, and fetched from when missing here; BAKE_BLOB_REGISTRY overrides it.',
      pattern: BLOB_REGISTRY,
    }),
  },
});

const DATABASE_SETTING: Pattern = {
  regex: /^(postgres(ql)?:\/\/[^\s:@/]+(@[^\s@/]+)?\/[^\s/?#]+|sqlite(:\S+)?|json(:\S+)?)$/,
  says: 'postgres://USER@HOST:PORT/DB (no password), sqlite[:PATH] or json[:PATH]',
};

/** `<workspace>/bake.yaml`. */
export const workspaceSpec = object({
  description: 'bake workspace (bake.yaml): the services whose committed versions bake records and packages, and where they are deployed.',
  required: ['services'],
  defaults: { environments: {} },
  properties: {
    services: map(serviceSpec, { description: 'Services by name.', keys: SERVICE_NAME }),
    environments: map(environmentSpec, { description: 'Deployment environments by name.', keys: ENVIRONMENT_NAME }),
    hooks: hooksSpec,
    blobs: blobsSpec,
    database: string({
      description:
        'Where the version manifest lives: postgres://USER@HOST:PORT/DB (shared by many hosts; keep the password in BAKE_DATABASE_URL or ~/.pgpass, not here), sqlite or sqlite:PATH (the default, .bake/state.db), or json or json:PATH (the one-file store of earlier versions). BAKE_DATABASE_URL overrides it.',
      pattern: DATABASE_SETTING,
    }),
  },
});

const baseSpec = oneOf({
  description: 'The base (default scratch): scratch, a root filesystem (directory or tar archive), or an image in an OCI layout.',
  says: 'scratch, {rootfs: DIR-or-TAR} or {oci: LAYOUT-DIR, ref: NAME}',
  options: [
    string({ description: 'An empty base.', enum: ['scratch'] }),
    object({
      description: 'A root filesystem directory or tar archive.',
      required: ['rootfs'],
      properties: {
        rootfs: string({ description: 'A root filesystem directory or tar archive, relative to the workspace.', pattern: RELATIVE_PATH }),
      },
    }),
    object({
      description: 'An image in an OCI image layout.',
      required: ['oci', 'ref'],
      properties: {
        oci: string({ description: 'An OCI image layout directory, relative to the workspace.', pattern: RELATIVE_PATH }),
        ref: string({ description: 'The image ref name inside that layout (org.opencontainers.image.ref.name).' }),
      },
    }),
  ],
});

const platformSpec = object({
  description: 'Target platform; default linux/amd64.',
  required: ['os', 'architecture'],
  properties: {
    os: string({ description: 'Only linux images are baked.', enum: ['linux'] }),
    architecture: string({
      description: 'A GOARCH value, e.g. amd64 or arm64.',
      pattern: { regex: /^[a-z0-9]+$/, says: 'a GOARCH value such as amd64 or arm64' },
    }),
  },
});

/**
 * `<workspace>/recipes/NAME.yaml`. `image` and `ports` have defaults too, but they depend on the
 * file name and on bake.yaml: recipe.ts fills them in.
 */
export const recipeSpec = object({
  description: 'bake recipe (recipes/NAME.yaml): how to bake one image.',
  required: ['services'],
  defaults: { bake: 'heavy', base: 'scratch', env: {}, labels: {}, platform: { os: 'linux', architecture: 'amd64' } },
  properties: {
    image: string({ description: 'Image name; default: the file name without .yaml.', pattern: IMAGE_NAME }),
    bake: string({
      description:
        'heavy (default): every service layer inside the image. light: a base plus an agent; pinned versions are installed at deploy time.',
      enum: ['heavy', 'light'],
    }),
    base: baseSpec,
    services: array(string(), { description: 'Services the image contains, by their names in bake.yaml.', minItems: 1, unique: true }),
    provision: array(string(), {
      description:
        'Shell commands run (in order, in a Docker container of base + services) before the entrypoint layer; what they change becomes a layer. Needs bake: heavy and a Docker engine; builds that use it are marked not reproducible.',
      minItems: 1,
    }),
    entrypoint: array(string(), { description: 'Overrides the generated supervisor entrypoint.', minItems: 1 }),
    env: map(string(), { description: 'Environment variables of the image.', keys: ENV_NAME }),
    ports: array(integer({ minimum: 1, maximum: 65535 }), {
      description: 'Exposed TCP ports; default: the ports of its services.',
      unique: true,
    }),
    labels: map(string(), { description: 'Image labels (OCI annotations style keys, string values).' }),
    platform: platformSpec,
  },
});
