/**
 * Every way a checkpoint can be broken gives a typed SafetensorsError whose message names
 * the file (and tensor) and what is wrong. Files are hand-made or corrupted byte by byte.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LayercutError } from '../../src/errors.js';
import {
  openCheckpoint,
  writeCheckpoint,
  writeSafetensors,
  SafetensorsError,
  type SafetensorsErrorKind,
} from '../../src/weights/safetensors.js';
import { f32Bytes, makeTempDir, writeRaw } from './files.js';

let dir: string;
let remove: () => Promise<void>;
before(async () => ({ dir, remove } = await makeTempDir()));
after(() => remove());

const GOOD_HEADER = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';

/** Asserts `promise` rejects with a SafetensorsError of `kind` whose message contains every part. */
async function rejectsWith(
  promise: Promise<unknown>,
  kind: SafetensorsErrorKind,
  ...parts: string[]
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SafetensorsError, `expected a SafetensorsError, got ${String(error)}`);
    assert.ok(error instanceof LayercutError);
    assert.equal(error.kind, kind, error.message);
    for (const part of parts) assert.ok(error.message.includes(part), `"${part}" not in: ${error.message}`);
    return true;
  });
}

test('a well-formed hand-made file opens (the baseline the corruptions below break)', async () => {
  const file = await writeRaw(dir, 'good.safetensors', GOOD_HEADER, f32Bytes([1, 2]));
  const ckpt = await openCheckpoint(file);
  assert.deepEqual(ckpt.info('a'), {
    name: 'a',
    dtype: 'F32',
    shape: [2],
    file,
    begin: 8 + 54,
    end: 8 + 54 + 8,
  });
  assert.deepEqual([...(await ckpt.readFloat32('a')).data], [1, 2]);
  await ckpt.close();
});

test('1. header length beyond the file size, above 100 MB, or a file shorter than 8 bytes', async () => {
  const beyond = await writeRaw(dir, 'beyond.safetensors', GOOD_HEADER, f32Bytes([1, 2]), 1000n);
  await rejectsWith(
    openCheckpoint(beyond),
    'header-length',
    beyond,
    '1000',
    'beyond the end of the 70-byte file',
  );
  const huge = await writeRaw(dir, 'huge.safetensors', GOOD_HEADER, f32Bytes([1, 2]), 2n ** 63n + 5n);
  await rejectsWith(
    openCheckpoint(huge),
    'header-length',
    huge,
    '9223372036854775813',
    '100000000-byte limit',
  );
  const tiny = path.join(dir, 'tiny.safetensors');
  await writeFile(tiny, Uint8Array.from([1, 0, 0]));
  await rejectsWith(openCheckpoint(tiny), 'header-length', tiny, '3 bytes');
});

test('2. a header that is not JSON, or not UTF-8, or JSON of the wrong shape', async () => {
  const file = await writeRaw(dir, 'json.safetensors', GOOD_HEADER, f32Bytes([1, 2]));
  const bytes = await readFile(file);
  bytes[8 + 5] = 0x3b; // ':' after "a" → ';'
  await writeFile(file, bytes);
  await rejectsWith(openCheckpoint(file), 'invalid-json', file, 'not valid UTF-8 JSON');
  bytes[8 + 5] = 0xff; // not UTF-8
  await writeFile(file, bytes);
  await rejectsWith(openCheckpoint(file), 'invalid-json', file);

  const array = await writeRaw(dir, 'array.safetensors', '[1,2,3]', new Uint8Array(0));
  await rejectsWith(openCheckpoint(array), 'invalid-header', array, 'JSON object');
  const badShape = await writeRaw(
    dir,
    'shape.safetensors',
    '{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}',
    f32Bytes([1, 2]),
  );
  await rejectsWith(openCheckpoint(badShape), 'invalid-header', badShape, '"a"', 'shape [2.5]');
  const badMeta = await writeRaw(dir, 'meta.safetensors', '{"__metadata__":{"n":1}}', new Uint8Array(0));
  await rejectsWith(openCheckpoint(badMeta), 'invalid-header', badMeta, '"n"');
});

test('header padding with spaces is accepted, and __metadata__ is read', async () => {
  const header = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   ';
  const file = await writeRaw(dir, 'padded.safetensors', header, f32Bytes([3, 4]));
  const ckpt = await openCheckpoint(file);
  assert.deepEqual(ckpt.metadata, { format: 'pt' });
  assert.deepEqual(ckpt.names(), ['a']);
  await ckpt.close();
});

test('3. offsets outside the data section, e.g. a truncated download', async () => {
  const file = await writeRaw(
    dir,
    'outside.safetensors',
    '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}',
    f32Bytes([1, 2, 3, 4]),
  );
  await openCheckpoint(file).then((c) => c.close()); // intact: fine
  await truncate(file, (await readFile(file)).length - 3);
  await rejectsWith(
    openCheckpoint(file),
    'offsets-out-of-range',
    file,
    '"b"',
    '[8, 16]',
    '13-byte data section',
  );
});

test('4. overlapping tensors, gaps between tensors, and bytes after the last tensor', async () => {
  const overlap = await writeRaw(
    dir,
    'overlap.safetensors',
    '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
    f32Bytes([1, 2, 3]),
  );
  await rejectsWith(openCheckpoint(overlap), 'overlap', overlap, '"a"', '"b"', 'overlap');
  const gap = await writeRaw(
    dir,
    'gap.safetensors',
    '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
    f32Bytes([1, 2, 3]),
  );
  await rejectsWith(openCheckpoint(gap), 'gap', gap, 'bytes [4, 8)', '"b"');
  const trailing = await writeRaw(dir, 'trailing.safetensors', GOOD_HEADER, f32Bytes([1, 2, 3]));
  await rejectsWith(openCheckpoint(trailing), 'gap', trailing, 'last 4 bytes');
});

test('5. byte length disagreeing with shape × dtype size', async () => {
  const file = await writeRaw(
    dir,
    'size.safetensors',
    '{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}',
    f32Bytes([1, 2]),
  );
  await rejectsWith(
    openCheckpoint(file),
    'size-mismatch',
    file,
    '"w"',
    'holds 8 bytes',
    'F16 shape [3]',
    'needs 6',
  );
});

test('6. unknown dtypes, and safetensors dtypes layercut does not read', async () => {
  const unknown = await writeRaw(
    dir,
    'dtype.safetensors',
    '{"w":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}}',
    f32Bytes([1, 2]),
  );
  await rejectsWith(
    openCheckpoint(unknown),
    'unknown-dtype',
    unknown,
    '"w"',
    '"F17"',
    'not a safetensors dtype',
    'BF16',
  );
  const u32 = await writeRaw(
    dir,
    'u32.safetensors',
    '{"w":{"dtype":"U32","shape":[2],"data_offsets":[0,8]}}',
    f32Bytes([1, 2]),
  );
  await rejectsWith(openCheckpoint(u32), 'unknown-dtype', u32, '"U32"', 'layercut does not support');
});

test('7. a missing tensor lists similar names', async () => {
  const file = path.join(dir, 'names.safetensors');
  const t = { dtype: 'F32' as const, shape: [1], data: new Float32Array(1) };
  await writeSafetensors(file, {
    'h.0.attn.c_attn.weight': t,
    'h.0.attn.c_proj.weight': t,
    'h.1.attn.c_attn.weight': t,
    'h.0.mlp.c_fc.weight': t,
    'ln_f.bias': t,
    'wte.weight': t,
  });
  const ckpt = await openCheckpoint(file);
  await assert.rejects(
    async () => ckpt.info('transformer.h.0.attn.c_attn.weight'),
    (error: unknown) => {
      assert.ok(error instanceof SafetensorsError);
      assert.equal(error.kind, 'missing-tensor');
      assert.equal(error.tensor, 'transformer.h.0.attn.c_attn.weight');
      assert.match(error.message, /no tensor "transformer\.h\.0\.attn\.c_attn\.weight"/);
      assert.ok(error.message.includes(file));
      // the name without the prefix comes first, then the nearest by edits; far names are left out
      assert.match(
        error.message,
        /Similar names: "h\.0\.attn\.c_attn\.weight", "h\.1\.attn\.c_attn\.weight", "h\.0\.attn\.c_proj\.weight"\./,
      );
      assert.doesNotMatch(error.message, /ln_f\.bias/);
      return true;
    },
  );
  await rejectsWith(ckpt.readFloat32('h.1.attn.c_atn.weight'), 'missing-tensor', '"h.1.attn.c_attn.weight"');
  assert.equal(ckpt.has('wte.weight'), true);
  assert.equal(ckpt.has('wpe.weight'), false);
  await ckpt.close();
});

test('8. PyTorch pickles are refused with advice on getting safetensors', async () => {
  const torchDir = path.join(dir, 'torch-only');
  await mkdir(torchDir);
  await writeFile(path.join(torchDir, 'pytorch_model.bin'), Uint8Array.from([0x80, 0x02, 0x7d, 0x71]));
  await writeFile(path.join(torchDir, 'config.json'), '{}');
  await rejectsWith(
    openCheckpoint(torchDir),
    'pytorch-pickle',
    torchDir,
    'pytorch_model.bin',
    'never loaded',
  );
  await rejectsWith(openCheckpoint(torchDir), 'pytorch-pickle', 'safe_serialization=True');
  await rejectsWith(
    openCheckpoint(path.join(torchDir, 'pytorch_model.bin')),
    'pytorch-pickle',
    'model.save_pretrained',
  );
  const pt = path.join(dir, 'weights.pt');
  await writeFile(pt, 'x');
  await rejectsWith(openCheckpoint(pt), 'pytorch-pickle', pt);
  // a torch zip archive saved under a .safetensors name is recognised by its first bytes
  const disguised = path.join(dir, 'disguised.safetensors');
  await writeFile(disguised, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(60)]));
  await rejectsWith(openCheckpoint(disguised), 'pytorch-pickle', disguised, 'PyTorch checkpoint');
});

test('missing paths and directories without a checkpoint say what was expected', async () => {
  await rejectsWith(openCheckpoint(path.join(dir, 'nope')), 'not-found', 'nope', 'no such file');
  const adapters = path.join(dir, 'adapters');
  await mkdir(adapters);
  await writeSafetensors(path.join(adapters, 'adapter_model.safetensors'), {});
  await rejectsWith(
    openCheckpoint(adapters),
    'not-found',
    'no model.safetensors',
    'adapter_model.safetensors',
  );
});

test('9. a sharded index pointing to a missing shard, or naming a tensor absent from its shard', async () => {
  const make = async (name: string): Promise<string> => {
    const ckptDir = path.join(dir, name);
    const t = (v: number) => ({ dtype: 'F32' as const, shape: [4], data: new Float32Array(4).fill(v) });
    await writeCheckpoint(ckptDir, { 'h.0.w': t(0), 'h.1.w': t(1), 'h.2.w': t(2) }, { maxShardBytes: 20 });
    return ckptDir;
  };
  const missing = await make('missing-shard');
  await rm(path.join(missing, 'model-00002-of-00003.safetensors'));
  await rejectsWith(
    openCheckpoint(missing),
    'missing-shard',
    'model-00002-of-00003.safetensors',
    '"h.1.w"',
    missing,
  );

  const mismatch = await make('mismatch');
  const indexFile = path.join(mismatch, 'model.safetensors.index.json');
  const index = JSON.parse(await readFile(indexFile, 'utf8')) as { weight_map: Record<string, string> };
  index.weight_map['h.2.w'] = 'model-00001-of-00003.safetensors';
  await writeFile(indexFile, JSON.stringify(index));
  await rejectsWith(
    openCheckpoint(mismatch),
    'index-mismatch',
    '"h.2.w"',
    'model-00001-of-00003.safetensors',
    indexFile,
  );

  await writeFile(indexFile, '{"weight_map": ');
  await rejectsWith(openCheckpoint(mismatch), 'invalid-index', indexFile, 'not valid JSON');
  await writeFile(indexFile, JSON.stringify({ weight_map: { 'h.0.w': '../../etc/passwd' } }));
  await rejectsWith(
    openCheckpoint(mismatch),
    'invalid-index',
    '"h.0.w"',
    'not a file name in this directory',
  );
});

test('reading with the wrong method, or I64 values outside int32, is refused', async () => {
  const file = path.join(dir, 'kinds.safetensors');
  await writeSafetensors(file, {
    ids: { dtype: 'I64', shape: [2], data: new BigInt64Array([1n, 2n ** 40n]) },
    w: { dtype: 'BF16', shape: [1], data: new Float32Array([1]) },
  });
  const ckpt = await openCheckpoint(file);
  await rejectsWith(ckpt.readFloat32('ids'), 'wrong-dtype', file, '"ids"', 'I64', 'readInt32');
  await rejectsWith(ckpt.readInt32('w'), 'wrong-dtype', '"w"', 'BF16', 'readFloat32');
  await rejectsWith(ckpt.readInt32('ids'), 'int-range', '"ids"', '1099511627776', 'flat index 1');
  await ckpt.close();
});

test('a file truncated after it was opened fails the read, naming the file', async () => {
  const file = path.join(dir, 'shrinks.safetensors');
  await writeSafetensors(file, { w: { dtype: 'F32', shape: [16], data: new Float32Array(16) } });
  const ckpt = await openCheckpoint(file);
  const handle = await open(file, 'r+');
  await handle.truncate(100);
  await handle.close();
  await rejectsWith(ckpt.readFloat32('w'), 'truncated', file);
  await ckpt.close();
});

// Minimal inputs the safetensors fuzzer (test/fuzz/safetensors.ts) found crashing or misreported.
test('fuzz finds: a deeply nested header value is refused, not a stack overflow', async () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const shape = await writeRaw(
    dir,
    'deep-shape.safetensors',
    `{"t":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`,
    new Uint8Array(),
  );
  await rejectsWith(
    openCheckpoint(shape),
    'invalid-header',
    'tensor "t": shape (nested too deep to show) is not a list of sizes',
  );
  const dtype = await writeRaw(
    dir,
    'deep-dtype.safetensors',
    `{"t":{"dtype":${deep},"shape":[],"data_offsets":[0,0]}}`,
    new Uint8Array(),
  );
  await rejectsWith(
    openCheckpoint(dtype),
    'unknown-dtype',
    'has dtype (nested too deep to show), which is not',
  );
});

test('fuzz finds: messages say what is missing or odd, on one line', async () => {
  const oneLine = async (header: string, data: Uint8Array, kind: SafetensorsErrorKind, part: string) => {
    const file = await writeRaw(dir, 'odd.safetensors', header, data);
    await rejectsWith(openCheckpoint(file), kind, part);
    await openCheckpoint(file).catch((error: Error) => {
      assert.equal(error.message.split('\n  hint: ')[0]!.split('\n').length, 1, error.message);
    });
  };
  // once "has dtype undefined", "shape [null]" (for 1e400), and a name or JSON error over two lines
  await oneLine(
    '{"t":{"shape":[],"data_offsets":[0,0]}}',
    new Uint8Array(),
    'unknown-dtype',
    'tensor "t" has no dtype',
  );
  await oneLine(
    '{"t":{"dtype":"U8","data_offsets":[0,0]}}',
    new Uint8Array(),
    'invalid-header',
    'tensor "t" has no shape',
  );
  await oneLine(
    '{"t":{"dtype":"U8","shape":[]}}',
    new Uint8Array(),
    'invalid-header',
    'tensor "t" has no data_offsets',
  );
  await oneLine(
    '{"t":{"dtype":"U8","shape":[1e400],"data_offsets":[0,0]}}',
    new Uint8Array(),
    'invalid-header',
    'shape [Infinity] is not',
  );
  await oneLine(
    '{"a\\nb":{"dtype":"F32","shape":[1],"data_offsets":[0,0]}}',
    new Uint8Array(),
    'size-mismatch',
    'tensor "a\\nb" holds 0 bytes',
  );
  await oneLine('F\n', new Uint8Array(), 'invalid-json', '"F\\n" is not valid JSON');
  // 31 sizes whose float product overflows to Infinity, times 0: once "needs NaN"
  const huge = Array(30).fill(9007199254740991).join(',');
  await oneLine(
    `{"t":{"dtype":"F32","shape":[${huge},0],"data_offsets":[0,4]}}`,
    f32Bytes([1]),
    'size-mismatch',
    '… (31 sizes)] needs 0',
  );
});
