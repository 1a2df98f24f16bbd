// Named factories users can extend (sdd.models.register, sdd.distillers.register): one rule for
// names, and a name already taken is replaced only when asked ({ override: true }).
import { invalidParameterError } from './errors.js';

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Adds `factory` to `registry` under `name` (letters, digits, '_', '-' or '.'). A name already
 * registered is an error naming `where` (e.g. 'models.register') and the registry (`scope`, e.g.
 * 'cifar'), unless `override` is true.
 */
export function registerFactory<F>(registry: Map<string, F>, where: string, name: unknown, factory: unknown,
  override: boolean | undefined, scope?: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) throw invalidParameterError('name', "a name of letters, digits, '_', '-' or '.'", name);
  if (typeof factory !== 'function') throw invalidParameterError('factory', 'a function (options) => instance', factory);
  if (registry.has(name) && override !== true) {
    throw new Error(`${where}: "${name}" is already registered${scope ? ` for ${scope}` : ''}; pass { override: true } to replace it`);
  }
  registry.set(name, factory as F);
}
