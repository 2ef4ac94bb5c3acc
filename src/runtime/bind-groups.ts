/**
 * Reusing bind groups on the webgpu backend.
 *
 * tfjs creates a bind group for every dispatch (its output, inputs and uniform buffer), and
 * Dawn's createBindGroup is one of the largest host costs of a dispatch. With the buffer pool in
 * a fixed order (buffer-pool.ts: stableBufferOrder) a training step's dispatches get the same
 * buffers step after step, so a bind group made for the same layout and the same buffers can be
 * handed back instead of made again. A bind group only refers to buffers: their contents (the
 * uniforms tfjs writes before each dispatch) are read when the dispatch runs.
 *
 * The cache is keyed by layout and bound buffer ranges; layouts are made stable by remembering
 * `getBindGroupLayout` per pipeline (Dawn returns a new object on each call). It holds at most
 * `maxEntries` bind groups and is emptied when full.
 */

export interface BindGroupCache {
  readonly hits: number;
  readonly misses: number;
}

/** A level of the cache: the bind group of the entries that led here, and the levels below by the next key. */
interface CacheLevel {
  group?: GPUBindGroup;
  next: Map<unknown, CacheLevel>;
}

const newLevel = (): CacheLevel => ({ next: new Map() });

/** The buffers each cached bind group binds (a step graph keeps them: step-graph.ts). */
const buffersOfGroup = new WeakMap<GPUBindGroup, GPUBuffer[]>();

/** The buffers a bind group made through the cache binds; undefined for one made past it. */
export function boundBuffers(group: GPUBindGroup): readonly GPUBuffer[] | undefined {
  return buffersOfGroup.get(group);
}

function below(level: CacheLevel, key: unknown): CacheLevel {
  let next = level.next.get(key);
  if (!next) level.next.set(key, (next = newLevel()));
  return next;
}

/**
 * Wraps `device.createBindGroup` with the cache; bind groups with non-buffer resources (or
 * entries out of binding order) pass through.
 *
 * The cache is a tree walked by the layout, then each entry's buffer and, where given, its
 * range (no key strings to build per dispatch).
 */
export function cacheBindGroups(device: GPUDevice, maxEntries = 16384): BindGroupCache {
  const stats = { hits: 0, misses: 0 };
  let root = newLevel();
  let entries = 0;

  rememberBindGroupLayouts(device);
  const create = device.createBindGroup.bind(device);
  device.createBindGroup = (descriptor) => {
    let level = below(root, descriptor.layout);
    let index = 0;
    for (const entry of descriptor.entries as Iterable<GPUBindGroupEntry>) {
      const binding = entry.resource as Partial<GPUBufferBinding>;
      if (!binding.buffer || entry.binding !== index++) return create(descriptor); // not cached
      level = below(level, binding.buffer);
      const { offset = 0, size } = binding;
      // a range from 0 (tfjs's uniforms) by its size alone: a number, never a buffer
      if (offset !== 0) level = below(level, `${offset} ${size ?? ''}`);
      else if (size !== undefined) level = below(level, size);
    }
    if (level.group) {
      stats.hits++;
      return level.group;
    }
    stats.misses++;
    if (entries >= maxEntries) {
      root = newLevel(); // full: start again, from the next bind group on
      entries = 0;
      return create(descriptor);
    }
    level.group = create(descriptor);
    const buffers = [...(descriptor.entries as Iterable<GPUBindGroupEntry>)].map(
      (entry) => (entry.resource as GPUBufferBinding).buffer,
    );
    buffersOfGroup.set(level.group, buffers);
    entries++;
    return level.group;
  };
  return stats;
}

let layoutsRemembered = false;

/** Makes `getBindGroupLayout` return one object per pipeline and group index (once per process). */
function rememberBindGroupLayouts(device: GPUDevice): void {
  if (layoutsRemembered) return;
  layoutsRemembered = true;
  const probe = device.createComputePipeline({
    layout: 'auto',
    compute: {
      module: device.createShaderModule({ code: '@compute @workgroup_size(1) fn main() {}' }),
      entryPoint: 'main',
    },
  });
  const pipelinePrototype = Object.getPrototypeOf(probe) as GPUComputePipeline;
  const getLayout = pipelinePrototype.getBindGroupLayout;
  const layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout[]>();
  pipelinePrototype.getBindGroupLayout = function (this: GPUComputePipeline, index: number) {
    let known = layouts.get(this);
    if (!known) layouts.set(this, (known = []));
    return (known[index] ??= getLayout.call(this, index));
  };
}
