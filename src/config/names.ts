/**
 * Names and closed sets that several layers check: declared once here, so the config spec, the
 * command line and the service agree. The config spec builds its patterns and enums from these.
 */

/** Deploy strategies, in the order help texts list them. */
export const STRATEGIES = ['rolling', 'blue-green', 'canary', 'ab', 'recreate'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** A service name: lower-case letters, digits and -, starting with a letter or digit. */
export const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const SERVICE_NAME_SAYS = 'a name of lower-case letters, digits and -, starting with a letter or digit (at most 63)';

/** An environment name: lower-case letters, digits, ".", "_" and "-". */
export const ENVIRONMENT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const ENVIRONMENT_NAME_SAYS = 'lower-case letters, digits, ".", "_" and "-", starting with a letter or digit (at most 63)';

/** An image (recipe) name: like an environment name, up to 128 characters. */
export const IMAGE_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
export const IMAGE_NAME_SAYS =
  'an image name of lower-case letters, digits, ".", "_" and "-", starting with a letter or digit (at most 128)';

/** True when `value` is one of STRATEGIES. */
export function isStrategy(value: string): value is StrategyName {
  return (STRATEGIES as readonly string[]).includes(value);
}
