/**
 * `layercut backends`: picks the compute backend as a run would, prints which one and why the
 * others were skipped, and checks it with a small matmul. Exit code 0 when it works, 2 when
 * the requested backend cannot run here, 1 when it runs but computes wrong numbers.
 */

import { parseOptions } from './options.js';
import type { Command } from '../cli.js';
import { ExitCode, LayercutError } from '../errors.js';
import {
  backendNames,
  checkMatmul,
  initBackend,
  listWebGpuAdapters,
  parseBackendName,
  probeVulkanLoader,
  releaseBackend,
  type BackendOptions,
} from '../runtime/index.js';
import { noAdapterError } from '../runtime/webgpu.js';

const usage = `usage: layercut backends [options]

Starts the compute backend a run would use and checks it with a 64×64 matmul.

options:
  --backend NAME             ${backendNames.join(' | ')} (default: LAYERCUT_BACKEND, else auto)
  --adapter-index N          webgpu: use adapter N of Dawn's list (see --list-adapters)
  --power-preference P       webgpu: high-performance (default) | low-power
  --dawn-toggles A,B         webgpu: Dawn toggles to enable, e.g. allow_unsafe_apis
  --list-adapters            list the GPU adapters Dawn sees, then exit`;

function parseAdapterIndex(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new LayercutError(`--adapter-index must be a whole number ≥ 0, got '${value}'`);
  return Number(value);
}

function parsePowerPreference(value: string | undefined): 'high-performance' | 'low-power' | undefined {
  if (value === undefined || value === 'high-performance' || value === 'low-power') return value;
  throw new LayercutError(`--power-preference must be high-performance or low-power, got '${value}'`);
}

function optionsFrom(args: string[]): { options: BackendOptions; listAdapters: boolean } {
  const { values } = parseOptions('backends', {
    args,
    options: {
      backend: { type: 'string' },
      'adapter-index': { type: 'string' },
      'power-preference': { type: 'string' },
      'dawn-toggles': { type: 'string' },
      'list-adapters': { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const toggles = values['dawn-toggles']
    ?.split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const options: BackendOptions = {
    webgpu: {
      adapterIndex: parseAdapterIndex(values['adapter-index']),
      powerPreference: parsePowerPreference(values['power-preference']),
      dawnToggles: toggles,
    },
  };
  if (values.backend !== undefined) options.backend = parseBackendName(values.backend, '--backend');
  return { options, listAdapters: values['list-adapters'] === true };
}

export const backendsCommand: Command = {
  usage,
  async run(args: string[]): Promise<number> {
    const { options, listAdapters } = optionsFrom(args);
    if (listAdapters) {
      const adapters = await listWebGpuAdapters(options.webgpu);
      if (adapters.length === 0)
        console.log(`Dawn sees no GPU adapter.\n${noAdapterError(probeVulkanLoader()).message}`);
      adapters.forEach((adapter, index) => console.log(`${index}: ${adapter.name} (${adapter.backend})`));
      return ExitCode.ok;
    }
    try {
      const report = await initBackend(options);
      console.log(`backend: ${report.name}`);
      console.log(`  ${report.detail}`);
      for (const { name, reason } of report.skipped) console.log(`skipped ${name}: ${reason}`);
      const check = await checkMatmul();
      const verdict = check.ok ? 'ok' : 'WRONG';
      console.log(
        `matmul check: ${check.size}×${check.size} on ${check.backend}, max |error| ${check.maxAbsError}, ` +
          `${verdict} (${check.milliseconds.toFixed(1)} ms)`,
      );
      return check.ok ? ExitCode.ok : ExitCode.failed;
    } finally {
      releaseBackend(); // lets Node exit when a GPU device was opened
    }
  },
};
