/**
 * The language the input files' fields are declared in. A spec is plain data that the validator
 * (validate.ts) and the JSON Schema generator (json-schema.ts) read; the builders below also tag
 * each spec with the TypeScript type of its validated value, so `Infer<typeof spec>` is the shape
 * the loaders hand on and no field list is written twice.
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
  /** `defaults`: values of absent keys, applied after validation (the JSON Schemas do not carry them). */
  | {
      type: 'object';
      description?: string;
      properties: Record<string, Spec>;
      required?: readonly string[];
      defaults?: Readonly<Record<string, unknown>>;
    }
  | { type: 'map'; description?: string; keys?: Pattern; values: Spec }
  /**
   * Exactly one of several shapes. Object options are told apart by their first required key
   * (their discriminator), so a user's mistake is reported against the shape they meant.
   */
  | { type: 'oneOf'; description?: string; options: readonly Spec[]; says: string };

type Of<K extends Spec['type']> = Extract<Spec, { type: K }>;
type Options<K extends Spec['type']> = Omit<Of<K>, 'type'>;

/** Compile-time only: no spec carries this key at run time. */
declare const VALUE: unique symbol;

/** A spec whose validated value (defaults applied) has the type T. */
export type Typed<S extends Spec, T> = S & { readonly [VALUE]?: T };

/** The TypeScript type of the value a spec accepts, once validated and with its defaults applied. */
export type Infer<S> = S extends { readonly [VALUE]?: infer T } ? T : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Keys that are required or defaulted are always present; the others may be absent. */
type ObjectValue<P extends Record<string, Spec>, Present extends keyof P> = Simplify<
  { -readonly [K in Present]: Infer<P[K]> } & { -readonly [K in Exclude<keyof P, Present>]?: Infer<P[K]> }
>;

/** A string; with `enum`, one of those literals (and typed as their union). */
export function string<const E extends string = string>(
  options: Omit<Options<'string'>, 'enum'> & { enum?: readonly E[] } = {},
): Typed<Of<'string'>, E> {
  return { type: 'string', ...options };
}

/** A whole number, within `minimum` and `maximum` when given. */
export function integer(options: Options<'integer'> = {}): Typed<Of<'integer'>, number> {
  return { type: 'integer', ...options };
}

/** true or false, unquoted. */
export function boolean(options: Options<'boolean'> = {}): Typed<Of<'boolean'>, boolean> {
  return { type: 'boolean', ...options };
}

/** A list of values of one spec; `unique` refuses a scalar listed twice. */
export function array<I extends Spec>(items: I, options: Omit<Options<'array'>, 'items'> = {}): Typed<Of<'array'>, Infer<I>[]> {
  return { type: 'array', items, ...options };
}

/** A mapping from names (checked against `keys` when given) to values of one spec. */
export function map<V extends Spec>(values: V, options: Omit<Options<'map'>, 'values'> = {}): Typed<Of<'map'>, Record<string, Infer<V>>> {
  return { type: 'map', values, ...options };
}

/**
 * A mapping with known keys. `required` and `defaults` may name only keys of `properties`, and
 * each default must be a valid value of its key (both checked by the compiler).
 */
export function object<P extends Record<string, Spec>, R extends keyof P & string = never, D extends keyof P & string = never>(options: {
  description?: string;
  properties: P;
  required?: readonly R[];
  defaults?: { readonly [K in D]: Infer<P[K]> };
}): Typed<Of<'object'>, ObjectValue<P, R | D>> {
  return { type: 'object', ...options };
}

/** Exactly one of `options`: a scalar one for scalars, else the object whose discriminator key is present. */
export function oneOf<const O extends readonly Spec[]>(
  options: Omit<Options<'oneOf'>, 'options'> & { options: O },
): Typed<Of<'oneOf'>, Infer<O[number]>> {
  return { type: 'oneOf', ...options };
}

/** The key that says which object option of a oneOf a mapping is meant to be. */
export function discriminator(option: Of<'object'>): string {
  return option.required?.[0] ?? Object.keys(option.properties)[0] ?? '';
}

/**
 * Fills in the declared defaults of absent keys, at every depth, in a copy of a plain value that
 * `spec` has already validated (mappings and lists are rebuilt, scalars shared). Never throws;
 * values the spec does not describe pass through.
 */
export function withDefaults(spec: Spec, value: unknown): unknown {
  switch (spec.type) {
    case 'object': {
      if (!isRecord(value)) return value;
      const out: Record<string, unknown> = { ...value };
      for (const [key, fallback] of Object.entries(spec.defaults ?? {})) if (out[key] === undefined) out[key] = fallback;
      // Rebuilding every mapping and list below also copies the defaults: no loaded file shares the spec's `{}`.
      for (const [key, field] of Object.entries(spec.properties)) {
        if (out[key] !== undefined) out[key] = withDefaults(field, out[key]);
      }
      return out;
    }
    case 'map':
      return isRecord(value) ? Object.fromEntries(Object.entries(value).map(([key, v]) => [key, withDefaults(spec.values, v)])) : value;
    case 'array':
      return Array.isArray(value) ? value.map((item) => withDefaults(spec.items, item)) : value;
    case 'oneOf': {
      if (!isRecord(value)) return value;
      const chosen = spec.options.find((o): o is Of<'object'> => o.type === 'object' && Object.hasOwn(value, discriminator(o)));
      return chosen ? withDefaults(chosen, value) : value;
    }
    default:
      return value;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
