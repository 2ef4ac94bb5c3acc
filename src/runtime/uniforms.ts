/**
 * Reusing uniform buffers on the webgpu backend.
 *
 * Before every dispatch tfjs lays out the program's uniforms (NaN, Infinity, each input's and the
 * output's shape and strides, the program's own values) in a fresh ArrayBuffer, takes a uniform
 * buffer from its pool, writes it with `queue.writeBuffer` and gives it back after the next
 * submit. A training step's dispatches have the same uniforms step after step (shapes do not
 * change; layercut's programs take per-step values as tensors), so a uniform buffer written
 * once for the same values can be bound again: no layout, no write, no pool traffic, and the
 * bind group (output, inputs, uniform buffer) is the same as the step before (bind-groups.ts).
 *
 * A cached buffer is never written again, so a dispatch still queued reads what it was recorded
 * with. The cache holds at most `maxEntries` buffers; when full it is emptied, its buffers going
 * back to tfjs's pool the way tfjs returns its own: after the next submit.
 */

/** A uniform value as tfjs's `makeUniforms` takes it. */
interface ProgramUniformLike {
  type: string;
  data: number[];
}

/** What `makeUniforms` returns: the binding of the uniform buffer. */
interface UniformBinding {
  offset: number;
  size: number;
  buffer: GPUBuffer;
}

/** The parts of tfjs-webgpu's WebGPUBackend the cache uses. */
export interface UniformMakingBackend {
  makeUniforms(programUniform: ProgramUniformLike[]): UniformBinding;
  /** Uniform buffers given back to the pool after the next submit. */
  uniformPendingDisposal: GPUBuffer[];
}

export interface UniformCache {
  readonly hits: number;
  readonly misses: number;
}

const typeCodes: Record<string, number> = { float32: 1, int32: 2, uint32: 3 };
const bits = new Float64Array(1);
const bitWords = new Int32Array(bits.buffer);

/**
 * Uniform values flattened (type code, length, values, … per field) into `into`, and their hash.
 * Two lists are the same uniforms when their flattened values are the same by `Object.is`
 * (NaN equals NaN; −0 is not 0: its bits differ).
 */
function flatten(programUniform: ProgramUniformLike[], into: number[]): number {
  into.length = 0;
  for (const { type, data } of programUniform) {
    into.push(typeCodes[type] ?? -1, data.length);
    for (const value of data) into.push(value);
  }
  let hash = 0x811c9dc5;
  for (const value of into) {
    let word = value | 0;
    if (word !== value || Object.is(value, -0)) {
      bits[0] = value;
      word = bitWords[0]! ^ bitWords[1]!;
    }
    hash = Math.imul(hash ^ word, 16777619);
  }
  return hash;
}

function sameValues(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** A cached uniform buffer and the flattened values it holds. */
interface CachedUniforms {
  values: number[];
  binding: UniformBinding;
}

/** Wraps `backend.makeUniforms` with the cache. */
export function cacheUniforms(backend: UniformMakingBackend, maxEntries = 4096): UniformCache {
  const make = backend.makeUniforms.bind(backend);
  const cache = new Map<number, CachedUniforms[]>(); // by hash of the values
  let entries = 0;
  const stats = { hits: 0, misses: 0 };
  const values: number[] = [];
  backend.makeUniforms = (programUniform) => {
    const hash = flatten(programUniform, values);
    const known = cache.get(hash)?.find((entry) => sameValues(entry.values, values));
    if (known) {
      stats.hits++;
      return known.binding;
    }
    stats.misses++;
    if (entries >= maxEntries) {
      for (const list of cache.values())
        for (const { binding } of list) backend.uniformPendingDisposal.push(binding.buffer);
      cache.clear();
      entries = 0;
    }
    const binding = make(programUniform);
    // tfjs queued the buffer for return to its pool after the next submit: keep it instead
    const pending = backend.uniformPendingDisposal;
    if (pending.at(-1) !== binding.buffer) return binding; // not where tfjs puts it: leave it to tfjs
    pending.pop();
    const entry = { values: [...values], binding };
    const list = cache.get(hash);
    if (list) list.push(entry);
    else cache.set(hash, [entry]);
    entries++;
    return binding;
  };
  return stats;
}
