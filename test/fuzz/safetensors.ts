/**
 * Fuzz target: safetensors files, whole, through `openCheckpoint` (the 8-byte header length,
 * the JSON header, its validation) and then reads of every tensor it accepts.
 *
 * Inputs are random bytes, byte-level mutations of files layercut's writer made (and of a
 * real fixture checkpoint), and headers built to lie: wrong dtypes, shapes whose product
 * overflows, negative, overlapping or out-of-file offsets, header lengths that do not match,
 * non-object JSON, duplicate keys, `__metadata__` of the wrong type, deep nesting, odd names.
 * A refusal must be a SafetensorsError (a LayercutError) with a one-line message; an accepted
 * file must read back byte for byte what the input holds, tensors tiling the data section.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  DTYPE_BYTES,
  DTYPES,
  isFloatDtype,
  UNSUPPORTED_SAFETENSORS_DTYPES,
} from '../../src/weights/dtypes.js';
import { MAX_HEADER_BYTES } from '../../src/weights/header.js';
import { openCheckpoint, writeSafetensors, type WritableTensor } from '../../src/weights/safetensors.js';
import { modelFixture } from '../helpers/fixtures.js';
import { EXTREME_NUMBERS, mutateBytes, mutateString, randomString } from './mutate.js';
import type { Rng } from './rng.js';
import { holds, rejection, shrinkString, showString, type FuzzTarget } from './target.js';

/** JSON text to put into a header as it is (a value JSON.stringify cannot write: 1e400, -0, deep nesting). */
class RawJson {
  constructor(readonly text: string) {}
}

type Entry = [name: string, value: unknown];

interface CorpusFile {
  bytes: Uint8Array;
  /** The header's entries in file order (tensors and `__metadata__`). */
  entries: Entry[];
  data: Uint8Array;
}

let corpus: CorpusFile[] = [];
let file = '';

/** Tensors layercut's writer puts in the corpus files: every dtype, a scalar, an empty tensor, odd names. */
function corpusTensors(): Record<string, WritableTensor>[] {
  return [
    { a: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } },
    {
      'h.0.attn.c_attn.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
      f64: { dtype: 'F64', shape: [2], data: Float64Array.of(0.5, -1) },
      f16: { dtype: 'F16', shape: [3], data: Uint16Array.of(0x3c00, 0x7c00, 0x7e00) },
      bf16: { dtype: 'BF16', shape: [2, 2], data: Uint16Array.of(0x3f80, 0, 0xff80, 1) },
      i64: { dtype: 'I64', shape: [2], data: BigInt64Array.of(-1n, 2n ** 40n) },
      i32: { dtype: 'I32', shape: [], data: Int32Array.of(7) },
      i16: { dtype: 'I16', shape: [2], data: Int16Array.of(-2, 3) },
      i8: { dtype: 'I8', shape: [3], data: Int8Array.of(-128, 0, 127) },
      u8: { dtype: 'U8', shape: [4], data: Uint8Array.of(0, 1, 254, 255) },
      bool: { dtype: 'BOOL', shape: [2], data: Uint8Array.of(0, 1) },
      empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    },
    {
      '0': { dtype: 'I32', shape: [1], data: Int32Array.of(1) },
      'é😀': { dtype: 'U8', shape: [1], data: Uint8Array.of(9) },
    },
    {},
  ];
}

async function buildCorpus(workDir: string): Promise<CorpusFile[]> {
  const files: Uint8Array[] = [];
  for (const [i, tensors] of corpusTensors().entries()) {
    const target = path.join(workDir, `corpus-${i}.safetensors`);
    await writeSafetensors(target, tensors, i === 1 ? { format: 'pt', note: 'é' } : undefined);
    files.push(new Uint8Array(await readFile(target)));
  }
  files.push(new Uint8Array(await readFile(path.join(modelFixture('gpt2-tiny-bf16'), 'model.safetensors'))));
  return files.map((bytes) => {
    const length = Number(Buffer.from(bytes).readBigUInt64LE(0));
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8')) as Record<
      string,
      unknown
    >;
    return { bytes, entries: Object.entries(header), data: bytes.subarray(8 + length) };
  });
}

// ---------------------------------------------------------------- headers built to lie

const BAD_DTYPES: unknown[] = [
  ...UNSUPPORTED_SAFETENSORS_DTYPES,
  'f32',
  'F32 ',
  '',
  'float32',
  'hasOwnProperty',
  '__proto__',
  'constructor',
  1,
  null,
  true,
  ['F32'],
  {},
  { F32: 1 },
];

const EXTREME_COUNTS = [0, 1, 2, 3, 7, 8, 255, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64];

function badShape(rng: Rng, shape: unknown): unknown {
  const dims = Array.isArray(shape) ? [...(shape as unknown[])] : [];
  switch (rng.below(9)) {
    case 0:
      return Array.from({ length: rng.between(1, 30) }, () => rng.pick(EXTREME_COUNTS));
    case 1:
      return [...dims, rng.pick([-1, 1.5, -0.5, '2', null, [], {}, true])];
    case 2:
      return rng.pick([[], [0], 'x', null, 3, {}, [[2]], [2 ** 31, 2 ** 31, 2 ** 31, 0]]);
    case 3:
      return new RawJson(
        `[${rng.pick(['1e400', '-0', '1.0', '2e0', '1e-400', '-1e400', '0x10', '01', 'NaN'])}]`,
      );
    case 4:
      return [...dims, ...dims];
    case 5:
      return dims.map((d) => (typeof d === 'number' ? d * 2 : d));
    case 6:
      return dims.slice(1);
    case 7:
      return Array.from({ length: rng.between(20, 400) }, () => rng.pick([2 ** 53 - 1, 1, 0]));
    default:
      return dims.map((d) => (typeof d === 'number' && rng.chance(0.5) ? d + rng.pick([-1, 1]) : d));
  }
}

function badOffsets(rng: Rng, offsets: unknown, others: [number, number][], dataLength: number): unknown {
  const [b, e] = Array.isArray(offsets) && offsets.length === 2 ? (offsets as [number, number]) : [0, 0];
  const other = others.length > 0 ? rng.pick(others) : [0, 0];
  return rng.pick<() => unknown>([
    () => [b, e + 1],
    () => [b - 1, e],
    () => [e, b],
    () => [-1, e],
    () => [b, -8],
    () => [0, dataLength + rng.between(1, 64)],
    () => [dataLength, dataLength],
    () => [b, b],
    () => [b, e, 0],
    () => [b],
    () => [],
    () => 'x',
    () => null,
    () => [String(b), e],
    () => [b + 0.5, e],
    () => [...other],
    () => [other[0] + 1, other[1] + 1],
    () => [0, 2 ** 53],
    () => [2 ** 53, 2 ** 53 + 8],
    () => [2 ** 64, 2 ** 64],
    () => new RawJson(`[${b}, ${rng.pick(['1e400', '-0', `${e}.0`, `${e}e0`, 'NaN'])}]`),
  ])();
}

const ODD_NAMES = [
  '',
  '__proto__',
  'constructor',
  'toString',
  '__metadata__',
  'a\nb',
  'a\r\nb\u2028',
  '\u0000',
  'é',
  '\ud800',
  ' ',
  '"',
  'x'.repeat(10_000),
];

const BAD_METADATA: unknown[] = [
  [],
  'x',
  null,
  1,
  { k: 1 },
  { k: null },
  { k: {} },
  { k: ['v'] },
  new RawJson('{"__proto__":"x"}'),
  new RawJson('{"k":"a","k":1}'),
  { '': '' },
  { 'a\nb': 'c\nd' },
  { k: 'v'.repeat(100_000) },
];

/** Text of a value nested `depth` deep: `[[[…]]]` or `{"a":{"a":…}}`. */
function deepJson(rng: Rng): RawJson {
  const depth = rng.chance(0.5) ? rng.between(2, 1000) : rng.between(10_000, 300_000);
  return rng.chance(0.5)
    ? new RawJson('['.repeat(depth) + ']'.repeat(depth))
    : new RawJson('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
}

const isTensorEntry = ([name]: Entry) => name !== '__metadata__';

/** One lie told about the header's entries (changes `entries` in place). */
function lie(rng: Rng, entries: Entry[], dataLength: number): void {
  const tensors = entries.filter(isTensorEntry);
  if (tensors.length === 0) {
    entries.push([
      't',
      { dtype: rng.pick(DTYPES), shape: badShape(rng, [1]), data_offsets: [0, dataLength] },
    ]);
    return;
  }
  const target = rng.pick(tensors);
  const info: Record<string, unknown> =
    typeof target[1] === 'object' && target[1] !== null && !Array.isArray(target[1])
      ? { ...(target[1] as Record<string, unknown>) }
      : {};
  const offsetsOf = (e: Entry): [number, number][] => {
    const v = (e[1] as { data_offsets?: unknown })?.data_offsets;
    return Array.isArray(v) && v.length === 2 ? [v as [number, number]] : [];
  };
  const others = tensors.filter((t) => t !== target).flatMap(offsetsOf);
  switch (rng.below(12)) {
    case 0:
      info['dtype'] = rng.chance(0.6) ? rng.pick(BAD_DTYPES) : rng.pick(DTYPES);
      break;
    case 1:
    case 2:
      info['shape'] = badShape(rng, info['shape']);
      break;
    case 3:
    case 4:
      info['data_offsets'] = badOffsets(rng, info['data_offsets'], others, dataLength);
      break;
    case 5:
      delete info[rng.pick(['dtype', 'shape', 'data_offsets'])];
      if (rng.chance(0.3)) {
        // defined, not assigned: assigning "__proto__" would set the prototype, not a key
        const key = rng.pick(['extra', 'dtype ', '__proto__']);
        Object.defineProperty(info, key, { value: rng.pick([1, 'x', null]), enumerable: true });
      }
      break;
    case 6:
      target[1] = rng.pick([1, 'x', null, [], true, deepJson(rng)]);
      return;
    case 7:
      entries.splice(entries.indexOf(target), 1); // a gap, or an empty file
      return;
    case 8:
      // the same bytes under a second name (overlap), or the same name twice (JSON keeps the last)
      entries.push([rng.chance(0.5) ? target[0] : `${target[0]}.copy`, { ...info }]);
      return;
    case 9:
      target[0] = rng.pick(ODD_NAMES);
      return;
    case 10: {
      const metadata = rng.chance(0.2) ? deepJson(rng) : rng.pick(BAD_METADATA);
      const at = entries.findIndex(([name]) => name === '__metadata__');
      if (at >= 0) entries[at]![1] = metadata;
      else entries.unshift(['__metadata__', metadata]);
      return;
    }
    default:
      info[rng.pick(['shape', 'data_offsets', 'dtype'])] = deepJson(rng);
  }
  target[1] = info;
}

/** The header's JSON text, with each RawJson (at any depth) written as it is. */
function headerText(entries: Entry[]): string {
  const raws: string[] = [];
  const value = (v: unknown) =>
    JSON.stringify(v, (_, inner: unknown) => {
      if (!(inner instanceof RawJson)) return inner;
      raws.push(inner.text);
      return `\u0000raw${raws.length - 1}`;
    });
  const text = `{${entries.map(([name, v]) => `${JSON.stringify(name)}:${value(v)}`).join(',')}}`;
  return text.replace(/"\\u0000raw(\d+)"/g, (_, i: string) => raws[Number(i)]!);
}

/** The 8-byte little-endian length. */
function u64(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A whole file whose header lies about itself in one to three ways (and maybe its length too). */
function lyingFile(rng: Rng): Uint8Array {
  const base = rng.pick(corpus);
  const entries = structuredClone(base.entries);
  const lies = 1 + rng.small(2);
  for (let i = 0; i < lies; i++) lie(rng, entries, base.data.length);
  let text = rng.chance(0.05)
    ? rng.pick(['[]', '1', '"x"', 'null', 'true', '{}', '', ' '])
    : headerText(entries);
  if (rng.chance(0.1)) text = mutateString(rng, text, JSON_TOKENS, [headerText(base.entries)]);
  if (rng.chance(0.1))
    text =
      rng.pick(['\ufeff', ' ', '\n']) + text + rng.pick([' '.repeat(rng.below(9)), '\n', '\t', '\0', 'x']);
  let header: Uint8Array = new Uint8Array(Buffer.from(text, 'utf8'));
  if (rng.chance(0.05)) header = mutateBytes(rng, header, [header]); // invalid UTF-8
  let data = base.data;
  if (rng.chance(0.15)) data = data.subarray(0, rng.below(data.length + 1));
  else if (rng.chance(0.1)) data = concat(data, new Uint8Array(rng.between(1, 16)));
  let length = BigInt(header.length);
  if (rng.chance(0.15)) {
    length = rng.pick([
      length + BigInt(rng.between(1, 16)),
      length - BigInt(rng.between(1, 16)),
      0n,
      BigInt(MAX_HEADER_BYTES) + 1n,
      2n ** 53n,
      2n ** 64n - 1n,
      BigInt(header.length + data.length),
      BigInt(rng.uint32()) * BigInt(rng.uint32()),
    ]);
  }
  return concat(u64(length), header, data);
}

const JSON_TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '"dtype"',
  '"shape"',
  '"data_offsets"',
  '"F32"',
  '"__metadata__"',
  'null',
  ...EXTREME_NUMBERS,
];

function randomFile(rng: Rng): Uint8Array {
  if (rng.chance(0.5)) return Uint8Array.from({ length: rng.below(65) }, () => rng.below(256));
  const text = Buffer.from(randomString(rng, JSON_TOKENS, 80), 'utf8');
  const length = rng.chance(0.7) ? BigInt(text.length) : BigInt(rng.below(200));
  return concat(u64(length), text, new Uint8Array(rng.below(32)));
}

function mutatedFile(rng: Rng): Uint8Array {
  let bytes = rng.pick(corpus).bytes;
  const edits = 1 + rng.small(3);
  for (let i = 0; i < edits; i++)
    bytes = mutateBytes(
      rng,
      bytes,
      corpus.map((c) => c.bytes),
    );
  return bytes;
}

// ---------------------------------------------------------------- checks

/** The file's parts when its length prefix fits in it: [length, header bytes, data]. */
function split(bytes: Uint8Array): [bigint, Uint8Array, Uint8Array] | null {
  if (bytes.length < 8) return null;
  const length = Buffer.from(bytes).readBigUInt64LE(0);
  if (length > BigInt(bytes.length - 8)) return null;
  const end = 8 + Number(length);
  return [length, bytes.subarray(8, end), bytes.subarray(end)];
}

async function checkFile(bytes: Uint8Array): Promise<string[]> {
  await writeFile(file, bytes);
  const inputText = Buffer.from(bytes).toString('latin1');
  const rule = { inputText, allow: /\d{309}|\d[eE]\+?\d{3}/.test(inputText) ? ['Infinity'] : [] };
  let checkpoint;
  try {
    checkpoint = await openCheckpoint(file);
  } catch (error) {
    return [rejection(error, rule)];
  }
  const outcomes = ['accepted'];
  try {
    const parts = split(bytes);
    holds(parts !== null, 'accepted a file whose header length is past its end', () => String(bytes.length));
    const [, , data] = parts;
    const dataStart = bytes.length - data.length;
    const names = checkpoint.names();
    holds(isDeepStrictEqual(names, [...new Set(names)].sort()), 'names not sorted and distinct', () =>
      JSON.stringify(names),
    );
    let covered = 0;
    for (const name of names) {
      const info = checkpoint.info(name);
      const count = info.shape.reduce((a, b) => a * b, 1);
      const size = info.end - info.begin;
      holds(size === count * DTYPE_BYTES[info.dtype], 'byte range does not match shape × dtype', () =>
        JSON.stringify(info),
      );
      holds(info.begin >= dataStart && info.end <= bytes.length, 'byte range outside the data', () =>
        JSON.stringify(info),
      );
      covered += size;
      const raw = await checkpoint.readRaw(name);
      holds(
        Buffer.from(raw).equals(bytes.subarray(info.begin, info.end)),
        'readRaw differs from the file',
        () => name,
      );
      try {
        const read = isFloatDtype(info.dtype)
          ? await checkpoint.readFloat32(name)
          : await checkpoint.readInt32(name);
        holds(
          read.data.length === count && isDeepStrictEqual(read.shape, info.shape),
          'read the wrong size',
          () => name,
        );
        if (info.dtype === 'F32') {
          const want = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
          holds(
            Buffer.from(read.data.buffer).equals(Buffer.from(want.buffer)),
            'F32 values differ from the bytes',
            () => name,
          );
        }
      } catch (error) {
        outcomes.push(`read ${rejection(error, rule)}`);
      }
    }
    holds(
      covered === data.length,
      'tensors do not tile the data section',
      () => `${covered} of ${data.length} bytes`,
    );
    for (const [key, value] of Object.entries(checkpoint.metadata)) {
      holds(typeof value === 'string', 'metadata value not a string', () => key);
    }
  } finally {
    await checkpoint.close();
  }
  return outcomes;
}

function* shrinkFile(bytes: Uint8Array): Iterable<Uint8Array> {
  const parts = split(bytes);
  if (parts) {
    const [length, header, data] = parts;
    if (data.length > 0) {
      yield concat(u64(length), header);
      yield concat(u64(length), header, data.subarray(0, data.length >> 1));
    }
    const text = Buffer.from(header).toString('latin1');
    for (const smaller of shrinkString(text)) {
      const shrunk = Buffer.from(smaller, 'latin1');
      yield concat(u64(BigInt(shrunk.length)), shrunk, data);
    }
  }
  for (let size = Math.max(1, bytes.length >> 1); size >= 1; size >>= 1) {
    for (let at = 0; at + size <= bytes.length; at += size)
      yield concat(bytes.subarray(0, at), bytes.subarray(at + size));
  }
}

function showFile(bytes: Uint8Array): string {
  const parts = split(bytes);
  if (!parts)
    return `bytes ${Buffer.from(bytes.subarray(0, 256)).toString('hex')}${bytes.length > 256 ? `… (${bytes.length} bytes)` : ''}`;
  const [length, header, data] = parts;
  const text = Buffer.from(header).toString('utf8');
  const exact = Buffer.from(text, 'utf8').equals(header)
    ? showString(text)
    : `hex ${Buffer.from(header).toString('hex')}`;
  return `[u64 ${length}] ${exact} + ${data.length} data bytes`;
}

export const safetensorsTarget: FuzzTarget<Uint8Array> = {
  name: 'safetensors',
  async setup(workDir) {
    corpus = await buildCorpus(workDir);
    file = path.join(workDir, 'input.safetensors');
  },
  generate(rng) {
    const roll = rng.below(10);
    if (roll < 2) return randomFile(rng);
    if (roll < 4) return mutatedFile(rng);
    if (roll < 5) return rng.pick(corpus).bytes;
    return lyingFile(rng);
  },
  check: checkFile,
  shrink: shrinkFile,
  show: showFile,
};
