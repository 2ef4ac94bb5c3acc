/** The fuzz targets by name, loaded on demand. */
import type { FuzzTarget } from './target.js';

const loaders: Record<string, () => Promise<unknown>> = {
  safetensors: async () => (await import('./safetensors.js')).safetensorsTarget,
  template: async () => (await import('./template.js')).templateTarget,
  layers: async () => (await import('./layers.js')).layersTarget,
};

/** The targets `npm run fuzz` runs by default. */
export const TARGET_NAMES = Object.keys(loaders);

/** Run only when named: a target with planted faults, to test the fuzzer. */
loaders['canary'] = async () => (await import('./canary.js')).canaryTarget;

export async function loadTarget(name: string): Promise<FuzzTarget<unknown>> {
  const load = loaders[name];
  if (!load) throw new Error(`no fuzz target '${name}': the targets are ${Object.keys(loaders).join(', ')}`);
  return (await load()) as FuzzTarget<unknown>;
}
