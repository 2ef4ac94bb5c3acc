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

import { writtenOnce } from './step-graph.js';

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

/**
 * Uniform values flattened (type code, length, values, … per field) as float64s, compared and
 * hashed by their bits: two lists are the same uniforms when their bits are (NaN is NaN; −0 is
 * not 0: its bits differ).
 */
class FlatUniforms {
  values = new Float64Array(64);
  words = new Uint32Array(this.values.buffer);
  length = 0;

  /** Flattens `programUniform` into this; returns the hash of its bits. */
  fill(programUniform: ProgramUniformLike[]): number {
    let n = 0;
    for (const { type, data } of programUniform) {
      if (n + 2 + data.length > this.values.length) this.grow(2 * (n + 2 + data.length));
      this.values[n++] = typeCodes[type] ?? -1;
      this.values[n++] = data.length;
      for (let i = 0; i < data.length; i++) this.values[n++] = data[i]!;
    }
    this.length = n;
    let hash = 0x811c9dc5;
    for (let i = 0; i < 2 * n; i++) hash = Math.imul(hash ^ this.words[i]!, 16777619);
    return hash;
  }

  /** Whether `stored` (a copy of an earlier fill's words) holds the same bits as this. */
  sameAs(stored: Uint32Array): boolean {
    if (stored.length !== 2 * this.length) return false;
    for (let i = 0; i < stored.length; i++) if (stored[i] !== this.words[i]) return false;
    return true;
  }

  copyOfWords(): Uint32Array {
    return this.words.slice(0, 2 * this.length);
  }

  private grow(size: number): void {
    const values = new Float64Array(size);
    values.set(this.values);
    this.values = values;
    this.words = new Uint32Array(values.buffer);
  }
}

/** A cached uniform buffer and the bits of the values it holds. */
interface CachedUniforms {
  words: Uint32Array;
  binding: UniformBinding;
}

/** Wraps `backend.makeUniforms` with the cache. */
export function cacheUniforms(backend: UniformMakingBackend, maxEntries = 4096): UniformCache {
  const make = backend.makeUniforms.bind(backend);
  const cache = new Map<number, CachedUniforms[]>(); // by hash of the values
  let entries = 0;
  const stats = { hits: 0, misses: 0 };
  const flat = new FlatUniforms();
  backend.makeUniforms = (programUniform) => {
    const hash = flat.fill(programUniform);
    const known = cache.get(hash)?.find((entry) => flat.sameAs(entry.words));
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
    const binding = writtenOnce(() => make(programUniform)); // never written again: not replayed
    // tfjs queued the buffer for return to its pool after the next submit: keep it instead
    const pending = backend.uniformPendingDisposal;
    if (pending.at(-1) !== binding.buffer) return binding; // not where tfjs puts it: leave it to tfjs
    pending.pop();
    const entry = { words: flat.copyOfWords(), binding };
    const list = cache.get(hash);
    if (list) list.push(entry);
    else cache.set(hash, [entry]);
    entries++;
    return binding;
  };
  return stats;
}
