/**
 * The environment a service's `build:` command runs with. A build command is whatever a commit
 * put in bake.yaml, so under `bake serve` it is code a CI job's write token chose: it gets the
 * service's environment minus every credential, so it cannot carry them anywhere.
 */

/** Variables named outright: bake's own secrets. */
const NAMED = new Set([
  'BAKE_SERVICE_TOKEN',
  'BAKE_REGISTRY_USERNAME',
  'BAKE_REGISTRY_PASSWORD',
  'BAKE_DATABASE_URL',
  'DATABASE_URL',
  'PGPASSWORD',
]);

/** A name whose `_`-separated words include one of these holds a credential (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY). */
const SECRET_WORDS = new Set(['TOKEN', 'PASSWORD', 'PASSWD', 'SECRET']);

/** True for a variable a build command must not see. */
export function isSecretVariable(name: string): boolean {
  const upper = name.toUpperCase();
  return NAMED.has(upper) || upper.split('_').some((word) => SECRET_WORDS.has(word));
}

/**
 * `env` without its secrets (see isSecretVariable). The operator may pass some on deliberately by
 * naming them in BAKE_BUILD_ENV (comma-separated, e.g. `NPM_TOKEN` for a build that installs
 * private packages); bake's own credentials (BAKE_SERVICE_TOKEN, BAKE_REGISTRY_*, the database
 * URL) never pass. Undefined values are dropped.
 */
export function buildCommandEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const passed = new Set((env['BAKE_BUILD_ENV'] ?? '').split(',').map((name) => name.trim().toUpperCase()));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const upper = name.toUpperCase();
    if (!isSecretVariable(name) || (passed.has(upper) && !NAMED.has(upper))) out[name] = value;
  }
  return out;
}
