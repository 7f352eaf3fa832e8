import { RemoteStatusError } from '../util/errors.js';

/**
 * A registry or its token service refused, failed, or asked for something bake will not do (send
 * credentials to another host); `status` is what callers branch on (undefined: no answer).
 */
export class RegistryError extends RemoteStatusError {
  override name = 'RegistryError';
  override readonly kind: string = 'registry';
}
