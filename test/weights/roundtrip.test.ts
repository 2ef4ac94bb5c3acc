/**
 * Writer → reader round trips for every dtype, byte-exact agreement with the reference
 * library's layout, sharded checkpoints, atomic writes, and the `bytesRead` counter.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  openCheckpoint,
  writeCheckpoint,
  writeSafetensors,
  SafetensorsError,
  type WritableTensor,
} from '../../src/weights/safetensors.js';
import { makeTempDir, safetensorsBytes } from './files.js';

let dir: string;
let remove: () => Promise<void>;
before(async () => ({ dir, remove } = await makeTempDir()));
after(() => remove());

const hexWords = (bytes: Uint8Array): string[] =>
  [...new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2)].map((b) => b.toString(16));

test('every dtype round-trips through a file', async () => {
  const f32 = new Float32Array([
    0,
    -0,
    1.5,
    -3.25,
    3.4028234663852886e38,
    1.401298464324817e-45,
    Infinity,
    NaN,
  ]);
  const tensors: Record<string, WritableTensor> = {
    f32: { dtype: 'F32', shape: [2, 4], data: f32 },
    f64: { dtype: 'F64', shape: [3], data: new Float64Array([0.1, -1e300, 2 ** -20]) },
    f16: { dtype: 'F16', shape: [6], data: new Float32Array([1, -2.5, 65504, 2 ** -24, Infinity, NaN]) },
    f16_bits: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3555, 0xfbff]) },
    bf16: { dtype: 'BF16', shape: [5], data: new Float32Array([1, -2.5, 65504, 0.1, -Infinity]) },
    i64: { dtype: 'I64', shape: [4], data: new BigInt64Array([0n, -1n, 2147483647n, -2147483648n]) },
    i32: { dtype: 'I32', shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) },
    i16: { dtype: 'I16', shape: [3], data: new Int16Array([-32768, 7, 32767]) },
    i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
    u8: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
    bool: { dtype: 'BOOL', shape: [4], data: new Uint8Array([0, 1, 1, 0]) },
    empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
  };
  const file = path.join(dir, 'all.safetensors');
  await writeSafetensors(file, tensors, { format: 'pt' });
  const ckpt = await openCheckpoint(file);
  try {
    assert.deepEqual(ckpt.names(), Object.keys(tensors).sort());
    assert.deepEqual(ckpt.metadata, { format: 'pt' });
    assert.deepEqual(ckpt.files, [file]);

    const f32Read = await ckpt.readFloat32('f32');
    assert.deepEqual(f32Read.shape, [2, 4]);
    assert.deepEqual(new Uint8Array(f32Read.data.buffer), new Uint8Array(f32.buffer), 'F32 is bit-exact');

    assert.deepEqual(
      [...(await ckpt.readFloat32('f64')).data],
      [...Float32Array.from([0.1, -Infinity, 2 ** -20])],
    );
    assert.deepEqual(hexWords(await ckpt.readRaw('f16')), ['3c00', 'c100', '7bff', '1', '7c00', '7e00']);
    assert.deepEqual([...(await ckpt.readFloat32('f16')).data], [1, -2.5, 65504, 2 ** -24, Infinity, NaN]);
    assert.deepEqual(hexWords(await ckpt.readRaw('f16_bits')), ['3555', 'fbff']);
    assert.deepEqual([...(await ckpt.readFloat32('f16_bits')).data], [0.333251953125, -65504]);
    assert.deepEqual(hexWords(await ckpt.readRaw('bf16')), ['3f80', 'c020', '4780', '3dcd', 'ff80']);
    assert.deepEqual([...(await ckpt.readFloat32('bf16')).data], [1, -2.5, 65536, 0.10009765625, -Infinity]);

    assert.deepEqual([...(await ckpt.readInt32('i64')).data], [0, -1, 2147483647, -2147483648]);
    assert.deepEqual([...(await ckpt.readInt32('i32')).data], [-2147483648, 0, 2147483647]);
    assert.deepEqual([...(await ckpt.readInt32('i16')).data], [-32768, 7, 32767]);
    assert.deepEqual([...(await ckpt.readInt32('i8')).data], [-128, 0, 127]);
    assert.deepEqual([...(await ckpt.readInt32('u8')).data], [0, 128, 255]);
    assert.deepEqual([...(await ckpt.readInt32('bool')).data], [0, 1, 1, 0]);
    assert.deepEqual(await ckpt.readFloat32('empty'), { data: new Float32Array(0), shape: [0, 3] });
    assert.deepEqual(await ckpt.readFloat32('scalar'), { data: new Float32Array([42]), shape: [] });
  } finally {
    await ckpt.close();
  }
});

test('integer dtypes can be written from an Int32Array, range-checked', async () => {
  const file = path.join(dir, 'ints.safetensors');
  await writeSafetensors(file, {
    a: { dtype: 'I64', shape: [2], data: new Int32Array([-5, 2147483647]) },
    b: { dtype: 'I8', shape: [2], data: new Int32Array([-128, 127]) },
    c: { dtype: 'BOOL', shape: [3], data: new Int32Array([0, 7, -1]) },
  });
  const ckpt = await openCheckpoint(file);
  assert.equal(ckpt.info('a').dtype, 'I64');
  assert.deepEqual([...(await ckpt.readInt32('a')).data], [-5, 2147483647]);
  assert.deepEqual([...(await ckpt.readInt32('b')).data], [-128, 127]);
  assert.deepEqual([...(await ckpt.readRaw('c'))], [0, 1, 1]);
  await ckpt.close();
  await assert.rejects(
    writeSafetensors(file, { u: { dtype: 'U8', shape: [2], data: new Int32Array([3, 256]) } }),
    (e: unknown) => e instanceof SafetensorsError && e.kind === 'invalid-tensor' && /256/.test(e.message),
  );
});

test('the writer produces the bytes the reference library writes for {"a": F32 [2]}', async () => {
  const file = path.join(dir, 'sample.safetensors');
  await writeSafetensors(file, { a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
  // 54 bytes of JSON, padded with 2 spaces to 56; then 1.0f and 2.0f little-endian
  const expected = Uint8Array.from([
    ...[56, 0, 0, 0, 0, 0, 0, 0],
    ...Buffer.from('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  '),
    ...[0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40],
  ]);
  assert.deepEqual(new Uint8Array(await readFile(file)), expected);
});

test('header layout matches the reference library: no padding when aligned, metadata first, empty file', async () => {
  const data = new Float32Array([0, 1, 2, 3, 4, 5]);
  const cases: [string, Record<string, WritableTensor>, Record<string, string> | undefined, string][] = [
    // exactly 64 bytes of JSON: no padding
    [
      'aligned',
      { 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } },
      undefined,
      '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}',
    ],
    // 65 bytes: 7 spaces
    [
      'padded',
      { attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } },
      undefined,
      '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ',
    ],
    ['empty', {}, undefined, '{}      '],
    ['metadata only', {}, { framework: 'pt' }, '{"__metadata__":{"framework":"pt"}}     '],
  ];
  for (const [label, tensors, metadata, header] of cases) {
    const file = path.join(dir, `${label}.safetensors`);
    await writeSafetensors(file, tensors, metadata);
    const body = Object.keys(tensors).length ? new Uint8Array(data.buffer) : new Uint8Array(0);
    assert.deepEqual(new Uint8Array(await readFile(file)), safetensorsBytes(header, body), label);
  }
});

test('tensors are laid out by descending dtype alignment, then by name, like the reference library', async () => {
  const file = path.join(dir, 'order.safetensors');
  await writeSafetensors(
    file,
    {
      z_u8: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      b_f32: { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      a_f32: { dtype: 'F32', shape: [1], data: new Float32Array([2]) },
      c_i64: { dtype: 'I64', shape: [1], data: new BigInt64Array([5n]) },
      '10': { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
    },
    { b: '2', a: '1' },
  );
  const header =
    '{"__metadata__":{"a":"1","b":"2"},' +
    '"c_i64":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
    '"a_f32":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
    '"b_f32":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},' +
    '"10":{"dtype":"F16","shape":[1],"data_offsets":[16,18]},' +
    '"z_u8":{"dtype":"U8","shape":[3],"data_offsets":[18,21]}}';
  const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
  const data = Uint8Array.from([
    5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0x80, 0x3f, 0x00, 0x3c, 1, 2, 3,
  ]);
  assert.deepEqual(new Uint8Array(await readFile(file)), safetensorsBytes(padded, data));
});

test('bytesRead counts exactly the bytes of the tensors read, never headers', async () => {
  const file = path.join(dir, 'counted.safetensors');
  await writeSafetensors(file, {
    big: { dtype: 'F32', shape: [100, 10], data: new Float32Array(1000).fill(1) },
    w: { dtype: 'F32', shape: [3, 4], data: new Float32Array(12).fill(2) },
    h: { dtype: 'F16', shape: [5], data: new Float32Array(5).fill(3) },
    ids: { dtype: 'I64', shape: [2], data: new BigInt64Array([1n, 2n]) },
  });
  const ckpt = await openCheckpoint(file);
  assert.equal(ckpt.bytesRead, 0);
  assert.deepEqual([...(await ckpt.readFloat32('w')).data], new Array(12).fill(2));
  assert.equal(ckpt.bytesRead, 48);
  await ckpt.readFloat32('h');
  await ckpt.readInt32('ids');
  assert.equal(ckpt.bytesRead, 48 + 10 + 16);
  ckpt.info('big'); // looking at layout reads nothing
  assert.equal(ckpt.bytesRead, 74);
  await ckpt.close();
  await assert.rejects(
    ckpt.readFloat32('w'),
    (e: unknown) => e instanceof SafetensorsError && e.kind === 'closed',
  );
});

test('sharded checkpoints: writeCheckpoint splits by size and writes the index; reading spans shards', async () => {
  const ckptDir = path.join(dir, 'sharded');
  const tensors: Record<string, WritableTensor> = {};
  for (let layer = 0; layer < 4; layer++) {
    // 40 bytes each
    tensors[`h.${layer}.weight`] = { dtype: 'F32', shape: [2, 5], data: new Float32Array(10).fill(layer) };
  }
  tensors['wte.weight'] = { dtype: 'BF16', shape: [30], data: new Float32Array(30).fill(-1) }; // 60 bytes
  await writeCheckpoint(ckptDir, tensors, { maxShardBytes: 100, metadata: { format: 'pt' } });

  assert.deepEqual((await readdir(ckptDir)).sort(), [
    'model-00001-of-00003.safetensors',
    'model-00002-of-00003.safetensors',
    'model-00003-of-00003.safetensors',
    'model.safetensors.index.json',
  ]);
  const index = JSON.parse(
    await readFile(path.join(ckptDir, 'model.safetensors.index.json'), 'utf8'),
  ) as unknown;
  assert.deepEqual(index, {
    metadata: { total_size: 220 },
    weight_map: {
      'h.0.weight': 'model-00001-of-00003.safetensors',
      'h.1.weight': 'model-00001-of-00003.safetensors',
      'h.2.weight': 'model-00002-of-00003.safetensors',
      'h.3.weight': 'model-00002-of-00003.safetensors',
      'wte.weight': 'model-00003-of-00003.safetensors',
    },
  });

  const ckpt = await openCheckpoint(ckptDir);
  assert.equal(ckpt.files.length, 3);
  assert.deepEqual(ckpt.metadata, { format: 'pt', total_size: '220' });
  assert.deepEqual(ckpt.names(), Object.keys(tensors).sort());
  assert.equal(ckpt.info('h.3.weight').file, path.join(ckptDir, 'model-00002-of-00003.safetensors'));
  assert.deepEqual([...(await ckpt.readFloat32('h.3.weight')).data], new Array(10).fill(3));
  assert.deepEqual([...(await ckpt.readFloat32('wte.weight')).data], new Array(30).fill(-1));
  assert.equal(ckpt.bytesRead, 40 + 60);
  await ckpt.close();

  // the index file itself can be opened too
  const viaIndex = await openCheckpoint(path.join(ckptDir, 'model.safetensors.index.json'));
  assert.deepEqual([...(await viaIndex.readFloat32('h.0.weight')).data], new Array(10).fill(0));
  await viaIndex.close();

  // rewriting the directory as one file removes the old index and shards, and vice versa
  await writeCheckpoint(ckptDir, { x: { dtype: 'F32', shape: [1], data: new Float32Array([7]) } });
  assert.deepEqual(await readdir(ckptDir), ['model.safetensors']);
  await writeCheckpoint(ckptDir, tensors, { maxShardBytes: 150 });
  assert.deepEqual((await readdir(ckptDir)).sort(), [
    'model-00001-of-00002.safetensors',
    'model-00002-of-00002.safetensors',
    'model.safetensors.index.json',
  ]);
  const again = await openCheckpoint(ckptDir);
  assert.deepEqual([...(await again.readFloat32('h.2.weight')).data], new Array(10).fill(2));
  await again.close();
});

test('writes are atomic: a failed write leaves no file and no temporary behind; a good one replaces the old', async () => {
  const sub = path.join(dir, 'atomic');
  await writeCheckpoint(sub, { a: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
  const file = path.join(sub, 'model.safetensors');
  const before = await readFile(file);
  await assert.rejects(
    writeSafetensors(file, { a: { dtype: 'F32', shape: [2], data: new Float32Array(3) } }),
    (e: unknown) =>
      e instanceof SafetensorsError &&
      e.kind === 'invalid-tensor' &&
      /"a"/.test(e.message) &&
      /3/.test(e.message),
  );
  assert.deepEqual(await readFile(file), before);
  // a value out of range is found while writing, after the file was begun: still nothing left behind
  await assert.rejects(
    writeSafetensors(file, {
      a: { dtype: 'F32', shape: [1000], data: new Float32Array(1000) },
      b: { dtype: 'I8', shape: [2], data: new Int32Array([1, 300]) },
    }),
    (e: unknown) => e instanceof SafetensorsError && e.kind === 'invalid-tensor' && /300/.test(e.message),
  );
  assert.deepEqual(await readFile(file), before);
  assert.deepEqual(await readdir(sub), ['model.safetensors']);
  await writeSafetensors(file, { a: { dtype: 'F32', shape: [1], data: new Float32Array([9]) } });
  assert.deepEqual(await readdir(sub), ['model.safetensors']);
  const ckpt = await openCheckpoint(sub);
  assert.deepEqual([...(await ckpt.readFloat32('a')).data], [9]);
  await ckpt.close();
  await writeFile(path.join(sub, 'unrelated.txt'), 'kept');
  await writeCheckpoint(sub, { b: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
  assert.deepEqual((await readdir(sub)).sort(), ['model.safetensors', 'unrelated.txt']);
});

test('the writer rejects arrays that do not fit the dtype', async () => {
  const file = path.join(dir, 'bad.safetensors');
  await assert.rejects(
    writeSafetensors(file, { w: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }),
    (e: unknown) =>
      e instanceof SafetensorsError && e.kind === 'invalid-tensor' && /Float32Array as I32/.test(e.message),
  );
  await assert.rejects(
    writeSafetensors(file, { w: { dtype: 'F32', shape: [-1], data: new Float32Array(2) } }),
    (e: unknown) => e instanceof SafetensorsError && e.kind === 'invalid-tensor' && /shape/.test(e.message),
  );
});

test('tensors beyond 4 GiB into a file are addressed exactly (sparse 5 GiB file)', async () => {
  const file = path.join(dir, 'large.safetensors');
  const padBytes = 5 * 2 ** 30 + 3;
  const header = JSON.stringify({
    pad: { dtype: 'U8', shape: [padBytes], data_offsets: [0, padBytes] },
    tail: { dtype: 'F32', shape: [3], data_offsets: [padBytes, padBytes + 12] },
  });
  const start = safetensorsBytes(header, new Uint8Array(0));
  const handle = await open(file, 'w');
  await handle.write(start, 0, start.length, 0);
  // writing past the end leaves a hole: the file takes almost no disk space
  await handle.write(new Uint8Array(new Float32Array([1.5, -2, 3]).buffer), 0, 12, start.length + padBytes);
  await handle.close();
  const ckpt = await openCheckpoint(file);
  assert.equal(ckpt.info('tail').begin, start.length + padBytes);
  assert.ok(ckpt.info('tail').end > 2 ** 32);
  assert.deepEqual(await ckpt.readFloat32('tail'), { data: new Float32Array([1.5, -2, 3]), shape: [3] });
  assert.equal(ckpt.bytesRead, 12);
  await ckpt.close();
  await writeFile(file, ''); // free the (sparse) space early
});
