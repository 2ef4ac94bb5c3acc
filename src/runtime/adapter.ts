/**
 * Which GPU a process computes on: `LAYERCUT_GPU=<i>` (set per worker by `layercut run --gpus`
 * and `layercut worker --gpu`, see queue/run-process.ts) picks the i-th GPU.
 *
 *   tensorflow  CUDA_VISIBLE_DEVICES=<i> (set beside LAYERCUT_GPU) leaves CUDA one GPU to see
 *   webgpu      Dawn's `create(['adapter=NAME'])` takes the first adapter of its list whose name
 *               contains NAME; it has no index. So the i-th adapter of Dawn's list is chosen by
 *               its name — which works when the GPUs' names differ. Identical GPUs (two "NVIDIA
 *               H200") cannot be told apart that way: Dawn's adapter info (vendor, architecture,
 *               device, description) is the same for both, and Vulkan's device selection by
 *               environment does not help: checked on a 2×H200 host, CUDA_VISIBLE_DEVICES,
 *               NVIDIA_VISIBLE_DEVICES (inside the container) and VK_LOADER_DEVICE_SELECT (vendor
 *               and device id, the same for both) all leave both GPUs visible to Dawn. Then the
 *               process gets the first of them, and says so — unless Mesa's Vulkan
 *               device-select layer is installed (Debian/Ubuntu: mesa-vulkan-drivers): then
 *               `DRI_PRIME=pci-<address>` with `MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1`
 *               leaves Vulkan the one GPU at that PCI address, the i-th of that vendor in bus
 *               order (as nvidia-smi numbers them), and `pinByPciAddress` checks that Dawn then
 *               lists exactly one of them. Not yet tried on a host with that layer.
 *
 * Every bound process writes one line on stderr when its backend starts (`gpuBindingLine`):
 *
 *   layercut: gpu 1 → webgpu vulkan adapter 0 of 2 "NVIDIA H200"; NVIDIA H200 (vendor nvidia, …); NOT GPU 1: …
 *
 * The process that started the workers reads these lines back (`parseGpuBindingLine`) and
 * warns when a worker did not get its GPU, or two workers asked for different GPUs got the same
 * device (`bindingWarning`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { variables } from '../env.js';
import { LayercutError } from '../errors.js';

/** Environment variable naming the GPU a process is bound to (an index, as `--gpus` lists them). */
export const GPU_ENV = variables.gpu.name;

/** One adapter as Dawn lists it. */
export interface WebGpuAdapterEntry {
  /** Dawn backend: 'vulkan', 'metal', 'd3d12', 'null', … */
  backend: string;
  /** Device name, e.g. 'NVIDIA H200'. */
  name: string;
}

/** The GPU index in `LAYERCUT_GPU`; undefined when it is unset or empty. */
export function gpuIndexFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env[GPU_ENV]?.trim();
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text)) {
    throw new LayercutError(
      `${GPU_ENV}=${env[GPU_ENV]} is not a GPU index`,
      `set ${GPU_ENV} to a whole number ≥ 0 (0 is the first GPU), or unset it`,
    );
  }
  return Number(text);
}

/** "0: NVIDIA H200 (vulkan), 1: NVIDIA H200 (vulkan)". */
function adapterListing(adapters: readonly WebGpuAdapterEntry[]): string {
  return adapters.map((a, i) => `${i}: ${a.name} (${a.backend})`).join(', ');
}

/** How Dawn is asked for adapter `index` of its list, and which adapter that gets. */
export interface AdapterChoice {
  /** The adapter asked for (an index into Dawn's list). */
  index: number;
  /** How many adapters Dawn lists. */
  count: number;
  /** The `create()` flag that selects it: `adapter=NAME`. */
  flag: string;
  /** The adapter Dawn will give: the first whose name contains NAME (equals `index` unless names repeat). */
  selected: number;
  entry: WebGpuAdapterEntry;
  /** When `selected !== index`: why the adapter asked for cannot be had. */
  unreachable?: string;
  /** Set when the process was confined to the GPU at this PCI address (`pinByPciAddress`). */
  pci?: string;
}

/** What to do when identical GPUs stand in the way (said in errors and warnings). */
export const identicalAdaptersHint =
  'Dawn selects adapters by name only, so of identical GPUs it always takes the first, and ' +
  'CUDA_VISIBLE_DEVICES does not reach Vulkan. Give each process its own GPU from outside (one ' +
  'container per GPU: the NVIDIA container runtime applies NVIDIA_VISIBLE_DEVICES when the ' +
  'container starts), or use the tensorflow backend, which honours CUDA_VISIBLE_DEVICES';

/**
 * Chooses adapter `index` of Dawn's list (pure: `adapters` is what `listWebGpuAdapters` gives).
 * Throws a LayercutError listing the adapters when the index does not exist; `source` names
 * where the index came from ('LAYERCUT_GPU', '--adapter-index').
 */
export function chooseAdapter(
  index: number,
  adapters: readonly WebGpuAdapterEntry[],
  source: string = GPU_ENV,
): AdapterChoice {
  const entry = adapters[index];
  if (!Number.isInteger(index) || index < 0 || entry === undefined) {
    const seen =
      adapters.length === 0
        ? 'Dawn sees no adapter'
        : `Dawn sees ${adapters.length}: ${adapterListing(adapters)}`;
    throw new LayercutError(
      `${source} ${index}: there is no GPU adapter ${index}; ${seen}`,
      adapters.length === 0
        ? 'run on a machine with a GPU, or use --backend wasm'
        : `use an index from 0 to ${adapters.length - 1}${source === GPU_ENV ? ` (--gpus, --gpu, ${GPU_ENV})` : ''}`,
    );
  }
  const selected = adapters.findIndex((adapter) => adapter.name.includes(entry.name));
  const choice: AdapterChoice = {
    index,
    count: adapters.length,
    flag: `adapter=${entry.name}`,
    selected,
    entry,
  };
  if (selected !== index) {
    const earlier = adapters[selected]!.name;
    choice.unreachable =
      earlier === entry.name
        ? `adapters ${selected} and ${index} are both '${entry.name}' and Dawn takes the first`
        : `adapter ${index}'s name '${entry.name}' is part of adapter ${selected}'s '${earlier}' and Dawn takes the first`;
  }
  return choice;
}

/** What `pinByPciAddress` needs to know about this machine. */
export interface PciView {
  /** True when Mesa's Vulkan device-select layer is installed (an implicit layer: always loaded). */
  deviceSelectLayer: boolean;
  /** PCI addresses ('0000:19:00.0') of the display devices of this vendor, in bus order. */
  gpus(vendorId: number): string[];
}

/** Where Vulkan loaders look for implicit layers on Linux. */
const implicitLayerDirs = [
  '/usr/share/vulkan/implicit_layer.d',
  '/usr/local/share/vulkan/implicit_layer.d',
  '/etc/vulkan/implicit_layer.d',
];

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** This machine as sysfs (`pciRoot`) and the implicit layer folders show it. */
export function pciView(pciRoot = '/sys/bus/pci/devices', layerDirs = implicitLayerDirs): PciView {
  return {
    deviceSelectLayer: layerDirs.some((dir) =>
      listDir(dir).some((file) => /device_select.*\.json$/i.test(file)),
    ),
    gpus: (vendorId) =>
      listDir(pciRoot)
        .filter((address) => {
          const pciClass = readText(path.join(pciRoot, address, 'class'));
          const vendor = readText(path.join(pciRoot, address, 'vendor'));
          return pciClass?.startsWith('0x03') === true && vendor !== undefined && Number(vendor) === vendorId;
        })
        .sort(),
  };
}

/** The PCI vendor id a device name starts with ('NVIDIA H200' → 0x10de); undefined when unknown. */
export function pciVendorOf(name: string): number | undefined {
  if (/^nvidia\b/i.test(name)) return 0x10de;
  if (/^(amd|ati)\b|radeon/i.test(name)) return 0x1002;
  if (/^intel\b/i.test(name)) return 0x8086;
  return undefined;
}

/** The environment that makes Mesa's device-select layer leave Vulkan only the GPU at `address`. */
export function deviceSelectEnv(address: string): Record<string, string> {
  const [domain, bus, device, fn] = address.split(/[:.]/);
  return {
    DRI_PRIME: `pci-${domain}_${bus}_${device}_${fn}`,
    MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1',
  };
}

/**
 * For a choice among identical GPUs (which Dawn cannot make by name beyond the first), confines
 * this process to the GPU asked for — the first one too, so that every worker's GPU is named by
 * its PCI address alike — through Mesa's device-select layer: sets `deviceSelectEnv` in `env` (before Dawn creates
 * the Vulkan instance the choice is for), lists Dawn's adapters again (`relist`) and returns the
 * pinned choice when exactly one adapter of that name is left. Otherwise (no layer, a vendor or
 * count that does not match the PCI bus, the layer without effect) it leaves `env` as it was
 * and returns the choice unchanged: the process then takes the first of them, and says so.
 */
export async function pinByPciAddress(
  choice: AdapterChoice,
  adapters: readonly WebGpuAdapterEntry[],
  relist: () => Promise<WebGpuAdapterEntry[]>,
  machine: PciView = pciView(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<AdapterChoice> {
  const name = choice.entry.name;
  const twins = adapters.flatMap((adapter, i) => (adapter.name === name ? [i] : []));
  if (twins.length < 2 || !machine.deviceSelectLayer) return choice;
  const vendor = pciVendorOf(name);
  const addresses = vendor === undefined ? [] : machine.gpus(vendor);
  // The k-th adapter of that name is the k-th GPU of the vendor on the bus only when they are as many.
  if (addresses.length !== twins.length) return choice;
  const address = addresses[twins.indexOf(choice.index)];
  if (address === undefined) return choice;
  const wanted = deviceSelectEnv(address);
  const before = Object.fromEntries(Object.keys(wanted).map((key) => [key, env[key]]));
  Object.assign(env, wanted);
  const left = (await relist()).filter((adapter) => adapter.name === name);
  if (left.length === 1) {
    const { unreachable: _, ...rest } = choice;
    return { ...rest, selected: choice.index, pci: address };
  }
  for (const [key, value] of Object.entries(before)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return choice;
}

/** What a bound process reports about the GPU it got (one line on stderr, see the file comment). */
export interface GpuBinding {
  /** The GPU index asked for (LAYERCUT_GPU). */
  gpu: number;
  backend: 'webgpu' | 'tensorflow';
  /**
   * Which device it got, the same text for the same device: `vulkan adapter 0 of 2 "NVIDIA H200"`
   * (webgpu), `CUDA_VISIBLE_DEVICES=1` (tensorflow).
   */
  adapter: string;
  /** The device's description (name, vendor, driver). */
  detail: string;
  /** Set when the device is not the GPU asked for. */
  notAsked?: string;
}

const bindingPrefix = 'layercut: gpu ';

/** The stderr line of a binding (no newline). */
export function gpuBindingLine(binding: GpuBinding): string {
  const notAsked = binding.notAsked ? `; NOT GPU ${binding.gpu}: ${binding.notAsked}` : '';
  return `${bindingPrefix}${binding.gpu} → ${binding.backend} ${binding.adapter}; ${binding.detail}${notAsked}`;
}

/** Reads a line written by `gpuBindingLine` back; undefined for any other line. */
export function parseGpuBindingLine(line: string): GpuBinding | undefined {
  const match = /^layercut: gpu (\d+) → (webgpu|tensorflow) ([^;]*); (.*?)(?:; NOT GPU \d+: (.*))?$/.exec(
    line.trim(),
  );
  if (!match) return undefined;
  const binding: GpuBinding = {
    gpu: Number(match[1]),
    backend: match[2] as GpuBinding['backend'],
    adapter: match[3] ?? '',
    detail: match[4] ?? '',
  };
  if (match[5] !== undefined) binding.notAsked = match[5];
  return binding;
}

/** The binding of a webgpu process: what `chooseAdapter` chose, with the adapter's description. */
export function webGpuBinding(choice: AdapterChoice, detail: string): GpuBinding {
  const where = choice.pci ? `at PCI ${choice.pci}` : `${choice.selected} of ${choice.count}`;
  const binding: GpuBinding = {
    gpu: choice.index,
    backend: 'webgpu',
    adapter: `${choice.entry.backend} adapter ${where} "${choice.entry.name}"`,
    detail,
  };
  if (choice.unreachable) binding.notAsked = `${choice.unreachable}. ${identicalAdaptersHint}`;
  return binding;
}

/** The binding of a tensorflow process (CUDA sees only CUDA_VISIBLE_DEVICES). */
export function tensorflowBinding(
  gpu: number,
  detail: string,
  env: NodeJS.ProcessEnv = process.env,
): GpuBinding {
  const visible = env.CUDA_VISIBLE_DEVICES;
  const binding: GpuBinding = {
    gpu,
    backend: 'tensorflow',
    adapter: `CUDA_VISIBLE_DEVICES=${visible ?? '(unset)'}`,
    detail,
  };
  if (visible !== String(gpu)) {
    binding.notAsked = `CUDA_VISIBLE_DEVICES is ${visible === undefined ? 'unset' : `'${visible}'`}, so CUDA may use another GPU`;
  }
  return binding;
}

/**
 * What is wrong with a worker's binding, given the bindings of the other workers (by name);
 * undefined when nothing is: it got the GPU it asked for, and no worker that asked for another
 * GPU got the same device. Workers that asked for the same GPU (more workers than GPUs) share
 * it on purpose.
 */
export function bindingWarning(
  binding: GpuBinding,
  others: ReadonlyMap<string, GpuBinding>,
): string | undefined {
  const problems: string[] = [];
  if (binding.notAsked) problems.push(`it did not get GPU ${binding.gpu}: ${binding.notAsked}`);
  const sharing = [...others].filter(
    ([, other]) =>
      other.backend === binding.backend && other.adapter === binding.adapter && other.gpu !== binding.gpu,
  );
  if (sharing.length > 0) {
    const names = sharing.map(([name, other]) => `${name} (asked for GPU ${other.gpu})`).join(', ');
    problems.push(
      `it shares ${binding.backend} ${binding.adapter} with ${names}: the workers take turns on one device, ` +
        'so the sweep is right but not faster',
    );
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}
