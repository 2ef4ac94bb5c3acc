/**
 * layercut's own safetensors reader and writer — the public face of `src/weights/`.
 *
 * File format: [u64 little-endian N][N bytes of JSON header][data section]. The header maps
 * tensor names to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the data
 * section) plus an optional `"__metadata__": {string: string}`.
 *
 *     const ckpt = await openCheckpoint('models/gpt2');      // reads headers only
 *     const { data, shape } = await ckpt.readFloat32('h.0.attn.c_attn.weight'); // [768, 2304]
 *     await ckpt.close();
 *
 * PyTorch pickles (`pytorch_model.bin`, `.pt`) are never loaded: unpickling runs code.
 */
export { type Dtype, DTYPES, DTYPE_BYTES } from './dtypes.js';
export { f16ToF32, bf16ToF32, f32ToF16, f32ToBf16 } from './dtypes.js';
export { SafetensorsError, type SafetensorsErrorKind } from './errors.js';
export { type TensorInfo, MAX_HEADER_BYTES } from './header.js';
export { type Checkpoint, openCheckpoint, SINGLE_FILE_NAME, INDEX_FILE_NAME } from './checkpoint.js';
export {
  type WritableTensor,
  writeSafetensors,
  writeCheckpoint,
  tensorByteLength,
  DEFAULT_MAX_SHARD_BYTES,
} from './writer.js';
