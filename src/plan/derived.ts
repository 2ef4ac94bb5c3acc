/**
 * What the option declarations (options.ts) give besides their checks, walked from them so that
 * a new option needs no second edit:
 *   - shortcut axes: sweep axes that set an option inside `train` or `data` (`lr`, `epochs`, …),
 *     from the options declared `described(…, { axis })` (runtime: `shortcutAxes`; the DSL's
 *     types: `AxesOf`); the command line writes their values with the option's `fromText`
 *   - results columns: each option is a column named after it (`validation`, `lr`), a variant's
 *     tag one named after the option that holds it (`optimizer` = its kind), unless the
 *     declaration says `column: false` (`columnsOf`)
 */
import {
  asField,
  type Cases,
  type Cell,
  type FieldIn,
  type Flat,
  type ObjectSchema,
  type OptionMeta,
  type Schema,
  type Shape,
  type VariantsSchema,
} from './schema.js';

type AnySchema = Schema<unknown, unknown>;

function isObjectSchema(schema: AnySchema): schema is ObjectSchema<Shape> {
  return 'shape' in schema;
}

function isVariants(schema: AnySchema): schema is VariantsSchema<Cases> {
  return 'cases' in schema;
}

/** `items` in order, each one that says `after` another moved to just after it. */
function placed<T>(
  items: readonly T[],
  name: (item: T) => string,
  after: (item: T) => string | undefined,
): T[] {
  const out = items.filter((item) => after(item) === undefined);
  for (const item of items.filter((item) => after(item) !== undefined)) {
    const at = out.findIndex((other) => name(other) === after(item));
    if (at < 0)
      throw new Error(`internal: '${name(item)}' is declared after '${after(item)}', which is not there`);
    out.splice(at + 1, 0, item);
  }
  return out;
}

/** A sweep axis that sets the option at `path` (['train', 'optimizer', 'lr']). */
export interface ShortcutAxis {
  name: string;
  path: readonly string[];
  schema: AnySchema;
  /**
   * What each options object on the path (path[i]) holds before the axis sets its option in
   * it, when the run sets none: the tag of its default (lr in { kind: 'adamw' }), else {}.
   */
  blanks: readonly Record<string, unknown>[];
}

/** The tag of a default options object ({ kind: 'adamw' } of AdamW's defaults), else {}. */
function blankOf(field: ReturnType<typeof asField>): Record<string, unknown> {
  const schema = field.schema as AnySchema;
  if (field.fill !== 'default' || !isVariants(schema)) return {};
  return { [schema.key]: (field.value as Record<string, unknown>)[schema.key] };
}

/** The shortcut axes declared in `roots` (experiment option → its schema), in declaration order. */
export function shortcutAxes(roots: Readonly<Record<string, AnySchema>>): ShortcutAxis[] {
  const found: (ShortcutAxis & { after?: string })[] = [];
  const walk = (schema: AnySchema, path: readonly string[], blanks: Record<string, unknown>[]): void => {
    if (isVariants(schema)) for (const one of Object.values(schema.cases)) walk(one, path, blanks);
    if (!isObjectSchema(schema)) return;
    for (const [key, entry] of Object.entries(schema.shape)) {
      const field = asField(entry);
      const name = field.meta?.axis;
      if (name !== undefined && !found.some((axis) => axis.name === name))
        found.push({
          name,
          path: [...path, key],
          schema: field.schema,
          blanks,
          after: field.meta?.axisAfter,
        });
      walk(field.schema, [...path, key], [...blanks, blankOf(field)]);
    }
  };
  for (const [root, schema] of Object.entries(roots)) walk(schema, [root], [{}]);
  return placed(
    found,
    (axis) => axis.name,
    (axis) => axis.after,
  ).map(({ after: _after, ...axis }) => axis);
}

/** One results column: its name and its cell of the options object it was walked from. */
export interface Column {
  name: string;
  cell(options: unknown): Cell;
}

function defaultCell(value: unknown): Cell {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return value as Cell;
}

const at = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;

/**
 * The columns of an options object (or of variants: first the tag, named `tagColumn`), in
 * declaration order; an option whose schema is an options object without a `cell` of its own
 * gives the columns of its options instead.
 */
export function columnsOf(schema: AnySchema, tagColumn?: string): Column[] {
  const found: (Column & { after?: string })[] = [];
  const add = (column: Column & { after?: string }): void => {
    if (!found.some((other) => other.name === column.name)) found.push(column);
  };
  if (isVariants(schema)) {
    const key = Object.values(schema.cases)
      .flatMap((one) => Object.entries(one.shape))
      .find(([, entry]) => 'tag' in entry)?.[0];
    if (tagColumn !== undefined && key !== undefined)
      add({ name: tagColumn, cell: (v) => defaultCell(at(v, key)) });
    for (const one of Object.values(schema.cases)) for (const column of columnsOf(one)) add(column);
    return found;
  }
  if (!isObjectSchema(schema)) return [];
  for (const [key, entry] of Object.entries(schema.shape)) {
    if ('tag' in entry) continue; // the variants' tag column
    const field = asField(entry);
    const meta: OptionMeta<string>['column'] = field.meta?.column;
    if (meta === false) continue;
    const inner = field.schema as AnySchema;
    if (!meta?.cell && (isObjectSchema(inner) || isVariants(inner))) {
      for (const column of columnsOf(inner, key))
        add({ name: column.name, cell: (v) => column.cell(at(v, key)) });
      continue;
    }
    const cell = meta?.cell ?? defaultCell;
    const absent = field.fill === 'absentWhen' ? field.value : undefined;
    add({
      name: key,
      cell: (v) => cell(at(v, key) ?? absent),
      ...(meta?.after ? { after: meta.after } : {}),
    });
  }
  return placed(
    found,
    (column) => column.name,
    (column) => column.after,
  );
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;
/** One object per shortcut axis declared in S (or in options inside it), as a union. */
type AxisUnion<S> = S extends { readonly shape: infer Sh extends Shape }
  ? { [K in keyof Sh]: EntryAxes<Sh[K]> }[keyof Sh]
  : S extends { readonly cases: infer C extends Cases }
    ? { [K in keyof C]: AxisUnion<C[K]> }[keyof C]
    : never;
type EntryAxes<E> =
  | (E extends { readonly meta: OptionMeta<infer A> }
      ? [A] extends [never]
        ? never
        : string extends A
          ? never
          : { [P in A]: FieldIn<E> }
      : never)
  | (E extends { readonly schema: infer S } ? AxisUnion<S> : never);

/** The shortcut axes declared in an options schema: axis name → the DSL value it takes. */
export type AxesOf<S> = Flat<UnionToIntersection<AxisUnion<S>>>;
