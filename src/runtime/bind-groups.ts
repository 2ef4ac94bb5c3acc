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

/** Wraps `device.createBindGroup` with the cache; bind groups with non-buffer resources pass through. */
export function cacheBindGroups(device: GPUDevice, maxEntries = 16384): BindGroupCache {
  const ids = new WeakMap<object, number>();
  let nextId = 1;
  const idOf = (o: object) => {
    let id = ids.get(o);
    if (id === undefined) ids.set(o, (id = nextId++));
    return id;
  };
  const stats = { hits: 0, misses: 0 };
  const cache = new Map<string, GPUBindGroup>();

  rememberBindGroupLayouts(device);
  const create = device.createBindGroup.bind(device);
  device.createBindGroup = (descriptor) => {
    let key = String(idOf(descriptor.layout));
    for (const entry of descriptor.entries as Iterable<GPUBindGroupEntry>) {
      const binding = entry.resource as Partial<GPUBufferBinding>;
      if (!binding.buffer) return create(descriptor); // a texture or sampler: not cached
      key += `|${entry.binding}:${idOf(binding.buffer)}:${binding.offset ?? 0}:${binding.size ?? ''}`;
    }
    const known = cache.get(key);
    if (known) {
      stats.hits++;
      return known;
    }
    stats.misses++;
    if (cache.size >= maxEntries) cache.clear();
    const group = create(descriptor);
    cache.set(key, group);
    return group;
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
