/**
 * Every `dev.bake.*` label key, declared once. They are part of the outside contract: users and
 * scripts filter on them (`docker ps --filter label=dev.bake.env=dev`), and a workspace finds what
 * it started through them, so a key never changes spelling.
 */
export const Label = {
  /** On every container and network bake creates: what `bake gc --engine` may consider. */
  managed: 'dev.bake.managed',
  /** The workspace a deployed container belongs to, so two workspaces sharing an engine never mix. */
  scope: 'dev.bake.scope',
  /** The environment a deployed container serves. */
  env: 'dev.bake.env',
  /** The image name, on deployed containers and in every baked image's config. */
  image: 'dev.bake.image',
  /** The OCI manifest digest a deployed container runs. */
  digest: 'dev.bake.digest',
  /** The release number a deployed container belongs to. */
  release: 'dev.bake.release',
  /** JSON map service → version number: the version vector, in image configs and on containers. */
  vector: 'dev.bake.vector',
  /** The bake level (heavy or light), in image configs. */
  level: 'dev.bake.level',
  /** On the temporary container and image of a provisioning step; the value is the image name. */
  provision: 'dev.bake.provision',
} as const;
