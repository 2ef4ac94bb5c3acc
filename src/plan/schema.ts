/**
 * A small set of option schemas. One declaration of an option gives, derived from it:
 *   - the DSL's input type (`Input<typeof s>`: what an experiment file writes),
 *   - the plan's type (`Output<typeof s>`: every default filled in),
 *   - its defaults (`defaultsOf`) and key list (`keysOf`, the order of the declaration),
 *   - its checks: `read(value, path, issues)` reports each problem at the path of the option
 *     that caused it and returns the plan value,
 *   - how a command line writes it (`fromText`: `lr=1e-4` on `layercut run`),
 *   - what else its declaration says (`described(field, { axis, column })`): the sweep axis that
 *     sets it and its results column (derived.ts).
 * layercut's options are declared with these in src/plan/options.ts; the compilers of
 * experiments (src/compile/build.ts) and of pretraining (src/pretrain/compile.ts) read with them.
 */

/** Where a schema reports problems: the option's dotted path ('train.optimizer.lr') and a one-line message. */
export interface Issues {
  error(path: string, message: string): void;
}

/** A checked option: reads what a user wrote into its plan value. */
export interface Schema<In, Out> {
  /** Phantom types, never set: read them with Input<…> and Output<…>. */
  readonly types?: { in: In; out: Out };
  /**
   * The plan value of `value` (an option that was written; left-out options are the caller's).
   * After reporting a problem it returns undefined, so the caller can go on checking.
   */
  read(value: unknown, path: string, issues: Issues): Out | undefined;
  /** How a command line writes a value (absent: it cannot). */
  readonly fromText?: FromText;
}

/** A value from command-line text: the DSL value it stands for; throws an Error that says why not. */
export interface FromText {
  read(text: string): unknown;
  /** Values may hold commas, so only `;` separates several (JSON, templates). */
  readonly commas?: boolean;
}

/** A finite number. */
export const numberText: FromText = {
  read(text) {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`'${text}' is not a number`);
    return value;
  },
};

/** The text as it is. */
const plainText: FromText = { read: (text) => text };

/** A JSON value. */
const jsonText: FromText = {
  commas: true,
  read(text) {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new Error(`'${text}' is not JSON: ${(error as Error).message}`, { cause: error });
    }
  },
};

export type Input<S> = S extends { readonly types?: { in: infer I; out: unknown } } ? I : never;
export type Output<S> = S extends { readonly types?: { in: unknown; out: infer O } } ? O : never;

/** A short rendering of any value for error messages: JSON, but NaN and ±Infinity as themselves (JSON says null). */
export function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (value === undefined) return 'undefined';
  try {
    const marked = JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v) ? `${NON_FINITE}${v}` : v,
    );
    const text = marked.replace(new RegExp(`"${NON_FINITE}(NaN|-?Infinity)"`, 'g'), '$1');
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

/** Marks a non-finite number inside show()'s JSON until it is written out bare. */
const NON_FINITE = '\uE000non-finite:';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A schema from a reader that returns undefined for a bad value, and the message that says why. */
export function custom<In, Out = In>(
  read: (value: unknown) => Out | undefined,
  message: (value: unknown, path: string) => string,
  fromText?: FromText,
): Schema<In, Out> {
  return {
    ...(fromText ? { fromText } : {}),
    read(value, path, issues) {
      const out = read(value);
      if (out === undefined) issues.error(path, message(value, path));
      return out;
    },
  };
}

/** A whole number ≥ min; `what` names it in messages (default: its path). */
export function integer(min: number, what?: string): Schema<number, number> {
  return custom(
    (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : undefined),
    (v, path) => `${what ?? path} must be a whole number ≥ ${min}, got ${show(v)}`,
    numberText,
  );
}

/** A finite number > 0. */
export function positive(what?: string): Schema<number, number> {
  return custom(
    (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined),
    (v, path) => `${what ?? path} must be a positive number, got ${show(v)}`,
    numberText,
  );
}

/** A finite number ≥ 0. */
export function nonNegative(what?: string): Schema<number, number> {
  return custom(
    (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined),
    (v, path) => `${what ?? path} must be a number ≥ 0, got ${show(v)}`,
    numberText,
  );
}

/** true or false. */
export function boolean(what: string): Schema<boolean, boolean> {
  return custom(
    (v) => (typeof v === 'boolean' ? v : undefined),
    (v) => `${what} must be true or false, got ${show(v)}`,
  );
}

/** A string with at least one character. */
export function text(what?: string): Schema<string, string> {
  return custom(
    (v) => (typeof v === 'string' && v.length > 0 ? v : undefined),
    (v, path) => `${what ?? path} must be a non-empty string, got ${show(v)}`,
  );
}

/** One of a few strings. */
export function oneOf<const T extends string>(
  values: readonly T[],
  message: (value: unknown, path: string) => string,
): Schema<T, T> & { readonly values: readonly T[] } {
  return {
    values,
    ...custom<T>((v) => (values.includes(v as T) ? (v as T) : undefined), message, plainText),
  };
}

/** The tag of a tagged options object (`kind: 'adamw'`): checked by the object it is in. */
export interface Tag<T extends string> extends Schema<T, T> {
  readonly tag: T;
}

export function tag<const T extends string>(value: T): Tag<T> {
  return { tag: value, read: (v) => (v === value ? value : undefined) };
}

/**
 * How an option of an options object is filled in when it is left out:
 *   required    the user must write it (`missing` is the message when not)
 *   default     the plan has `value`
 *   optional    the plan has no such key
 *   absentWhen  the plan has no such key when left out or written as `value` (a later option
 *               whose default must not change the ids of plans made before it existed)
 */
export interface Field<In, Out, InOptional extends boolean, OutOptional extends boolean> {
  readonly schema: Schema<In, Out>;
  readonly inOptional: InOptional;
  readonly outOptional: OutOptional;
  readonly meta?: OptionMeta<string>;
}

/**
 * What an option's declaration says besides its check (read by derived.ts):
 *   axis     a sweep axis of this name sets it (`lr: [1e-4, 3e-4]` sets train.optimizer.lr);
 *            `axisAfter` places the axis after another in the list of axes
 *   column   its results column: by default one named after the option, showing its plan value
 *            (a list joined by commas; absent: null, or the value it is absent for); `cell` shows
 *            it otherwise, `after` places it after another column; false: no column
 */
export interface OptionMeta<A extends string = never> {
  readonly axis?: A;
  readonly axisAfter?: string;
  readonly column?: false | ColumnMeta;
}

/** A results cell: text, a number, a flag, or nothing. */
export type Cell = string | number | boolean | null;

export interface ColumnMeta {
  /** The cell of the plan value (undefined when the plan has none). */
  readonly cell?: (value: unknown) => Cell;
  readonly after?: string;
}
export interface RequiredField<In, Out> extends Field<In, Out, false, false> {
  readonly fill: 'required';
  readonly missing?: string;
}
export interface DefaultField<In, Out> extends Field<In, Out, true, false> {
  readonly fill: 'default';
  readonly value: Out;
}
export interface OptionalField<In, Out> extends Field<In, Out, true, true> {
  readonly fill: 'optional';
}
export interface AbsentWhenField<In, Out> extends Field<In, Out, true, true> {
  readonly fill: 'absentWhen';
  readonly value: unknown;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- any field or schema, for constraints */
type AnyField =
  RequiredField<any, any> | DefaultField<any, any> | OptionalField<any, any> | AbsentWhenField<any, any>;
type AnySchema = Schema<any, any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

export function required<In, Out>(schema: Schema<In, Out>, missing?: string): RequiredField<In, Out> {
  return { schema, inOptional: false, outOptional: false, fill: 'required', ...(missing ? { missing } : {}) };
}

/** T, not used to infer T (TypeScript 5.0 lacks NoInfer; tslab's compiler reads these types). */
type Later<T> = [T][T extends unknown ? 0 : never];

/** (`withDefault` and `optional` keep the schema's own type: derived.ts reads the axes inside it.) */
export function withDefault<S extends AnySchema>(
  schema: S,
  value: Later<Output<S>>,
): DefaultField<Input<S>, Output<S>> & { readonly schema: S } {
  return { schema, inOptional: true, outOptional: false, fill: 'default', value };
}

/** `field` with another default, declared as it is otherwise (its check, what it says besides). */
export function otherDefault<F extends DefaultField<unknown, unknown>>(field: F, value: F['value']): F {
  return { ...field, value };
}

export function optional<S extends AnySchema>(
  schema: S,
): OptionalField<Input<S>, Output<S>> & { readonly schema: S } {
  return { schema, inOptional: true, outOptional: true, fill: 'optional' };
}

export function absentWhen<In, Out, const V extends Out>(
  schema: Schema<In, Out>,
  value: V,
): AbsentWhenField<In, Exclude<Out, V>> {
  return {
    schema: schema as Schema<In, Exclude<Out, V>>,
    inOptional: true,
    outOptional: true,
    fill: 'absentWhen',
    value,
  };
}

/** `entry` with what its declaration says besides its check (OptionMeta). */
export function described<const E extends AnyField | AnySchema, const A extends string = never>(
  entry: E,
  meta: OptionMeta<A>,
): FieldOf<E> & { readonly meta: OptionMeta<A> } {
  return { ...asField(entry), meta } as unknown as FieldOf<E> & { readonly meta: OptionMeta<A> };
}

/** An object's options: each a Field, or a bare schema (required) such as its tag. */
export type Shape = Record<string, AnyField | AnySchema>;

type FieldOf<F> = F extends AnyField ? F : F extends Schema<infer I, infer O> ? RequiredField<I, O> : never;
export type FieldIn<F> = FieldOf<F> extends Field<infer I, unknown, boolean, boolean> ? I : never;
type FieldOut<F> = FieldOf<F> extends Field<unknown, infer O, boolean, boolean> ? O : never;
type InOptionalKeys<S> = { [K in keyof S]: FieldOf<S[K]>['inOptional'] extends true ? K : never }[keyof S];
type OutOptionalKeys<S> = { [K in keyof S]: FieldOf<S[K]>['outOptional'] extends true ? K : never }[keyof S];
export type Flat<T> = { [K in keyof T]: T[K] } & {};

/** The DSL's type of an options object: options that may be left out are optional. */
export type ShapeIn<S extends Shape> = Flat<
  { -readonly [K in keyof S as K extends InOptionalKeys<S> ? never : K]: FieldIn<S[K]> } & {
    -readonly [K in keyof S as K extends InOptionalKeys<S> ? K : never]?: FieldIn<S[K]>;
  }
>;
/** The plan's type of an options object: defaults filled in. */
export type ShapeOut<S extends Shape> = Flat<
  { -readonly [K in keyof S as K extends OutOptionalKeys<S> ? never : K]: FieldOut<S[K]> } & {
    -readonly [K in keyof S as K extends OutOptionalKeys<S> ? K : never]?: FieldOut<S[K]>;
  }
>;

export interface ObjectSchema<S extends Shape> extends Schema<ShapeIn<S>, ShapeOut<S>> {
  readonly shape: S;
  /** A copy with some options declared anew (same types), e.g. other defaults for another compiler. */
  with(fields: { [K in keyof S]?: S[K] }): ObjectSchema<S>;
}

/** An option's entry as a field (a bare schema is a required option). */
export function asField(entry: AnyField | AnySchema): AnyField {
  return 'fill' in entry ? entry : required(entry as AnySchema);
}

/**
 * An options object with an exact set of options. `what` names it in the message for an unknown
 * option; `notOne` is the message when the value is not such an object (or its tag differs).
 */
export function object<const S extends Shape>(
  options: {
    what: string;
    notOne: (value: unknown, path: string) => string;
    /** Options checked first, in this order (the rest follow in the order of the declaration). */
    checkOrder?: readonly (keyof S & string)[];
    /**
     * Options that make the value one at all, as its tags do: when one is missing or bad, the
     * value is reported as `notOne` (a hub model without a repo is not a model).
     */
    essential?: readonly (keyof S & string)[];
  },
  shape: S,
): ObjectSchema<S> {
  const keys = Object.keys(shape);
  const first = options.checkOrder ?? [];
  const checkOrder = [...first, ...keys.filter((key) => !first.includes(key))];
  return {
    shape,
    fromText: jsonText,
    with: (fields) => object(options, { ...shape, ...fields }),
    read(value, path, issues) {
      const tagsMatch = keys.every((key) => {
        const entry = shape[key]!;
        return !('tag' in entry) || (isRecord(value) && value[key] === entry.tag);
      });
      const essentialRead = (options.essential ?? []).every(
        (key) =>
          isRecord(value) &&
          value[key] !== undefined &&
          asField(shape[key]!).schema.read(value[key], key, silent) !== undefined,
      );
      if (!isRecord(value) || !tagsMatch || !essentialRead) {
        issues.error(path, options.notOne(value, path));
        return undefined;
      }
      for (const name of Object.keys(value)) {
        if (value[name] !== undefined && !keys.includes(name))
          issues.error(`${path}.${name}`, unknownOption(options.what, name, keys));
      }
      const out: Record<string, unknown> = {};
      let complete = true;
      for (const key of checkOrder) {
        const field = asField(shape[key]!);
        const given = value[key];
        if (given === undefined || (field.fill === 'absentWhen' && given === field.value)) {
          if (field.fill === 'default') out[key] = structuredClone(field.value);
          if (field.fill === 'required') {
            issues.error(path, field.missing ?? `${path}.${key} is required`);
            complete = false;
          }
          continue;
        }
        const read = field.schema.read(given, `${path}.${key}`, issues);
        if (read !== undefined) out[key] = read;
        else if (field.fill === 'default') out[key] = structuredClone(field.value);
      }
      return complete ? (out as ShapeOut<S>) : undefined;
    },
  };
}

/** Issues that go nowhere: for trying a read. */
const silent: Issues = { error: () => undefined };

/** The message for an option name that `what` does not have. */
export function unknownOption(what: string, name: string, options: readonly string[]): string {
  return `unknown ${what} option '${name}': the options are ${options.join(', ')}`;
}

/** The key list of an options object, in the order of its declaration. */
export function keysOf(schema: ObjectSchema<Shape>): string[] {
  return Object.keys(schema.shape);
}

/** The plan value of an options object with every option left out (its tags and defaults). */
export function defaultsOf<S extends Shape>(schema: ObjectSchema<S>): ShapeOut<S> {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(schema.shape)) {
    if ('tag' in entry) out[key] = entry.tag;
    else if ('fill' in entry && entry.fill === 'default') out[key] = structuredClone(entry.value);
  }
  return out as ShapeOut<S>;
}

export type Cases = Record<string, ObjectSchema<Shape>>;

export interface VariantsSchema<C extends Cases> extends Schema<
  { [K in keyof C]: Input<C[K]> }[keyof C],
  { [K in keyof C]: Output<C[K]> }[keyof C]
> {
  readonly cases: C;
  /** The tag's option name ('kind'). */
  readonly key: string;
  /** The case a left-out tag means (`fit` left out is 'linear'), if any. */
  readonly absent?: keyof C & string;
  /** A copy whose cases have other defaults. */
  with(cases: { [K in keyof C]?: C[K] }): VariantsSchema<C>;
}

/**
 * One of several options objects, told apart by the tag `key` (`kind: 'adamw' | 'sgd'`). A
 * value without the tag is the `absent` case; `notOne` is the message for a value that is none.
 */
export function variants<const C extends Cases>(
  options: {
    key: string;
    absent?: keyof C & string;
    notOne: (value: unknown, path: string) => string;
    /** The message for an unknown tag, at the tag's path (default: notOne at the value's). */
    badTag?: (tagValue: unknown) => string;
  },
  cases: C,
): VariantsSchema<C> {
  return {
    cases,
    key: options.key,
    // a command line names the case: optimizer=sgd is { kind: 'sgd' } (its defaults, else the check says what is missing)
    fromText: { read: (text) => ({ [options.key]: text }) },
    ...(options.absent ? { absent: options.absent } : {}),
    with: (changed) => variants(options, { ...cases, ...changed }),
    read(value, path, issues) {
      const given = isRecord(value) ? (value[options.key] ?? options.absent) : undefined;
      const chosen =
        typeof given === 'string' && Object.hasOwn(cases, given) ? (cases as Cases)[given] : undefined;
      if (!chosen) {
        if (isRecord(value) && options.badTag) issues.error(`${path}.${options.key}`, options.badTag(given));
        else issues.error(path, options.notOne(value, path));
        return undefined;
      }
      const record = value as Record<string, unknown>;
      const filled = record[options.key] === undefined ? { ...record, [options.key]: given } : record;
      return chosen.read(filled, path, issues) as Output<C[keyof C]> | undefined;
    },
  };
}
