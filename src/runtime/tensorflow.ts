/**
 * The `tensorflow` backend: TensorFlow's C library through `@tensorflow/tfjs-node-gpu` (CUDA)
 * or `@tensorflow/tfjs-node` (CPU). Both are optional peer dependencies — their install
 * downloads libtensorflow — so they are imported lazily, and their absence is a
 * BackendUnavailableError that says how to install them.
 */
import * as tf from '@tensorflow/tfjs';

import { BackendUnavailableError, firstLineOf } from './backend-error.js';

/** Tried in this order: the CUDA build first. */
const tensorflowPackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

const installHint =
  'for NVIDIA GPUs `npm install @tensorflow/tfjs-node-gpu` (needs CUDA 11.x and cuDNN 8 on the machine); ' +
  'for CPUs `npm install @tensorflow/tfjs-node`. Both download libtensorflow while installing, ' +
  'so install them where the network is reachable. Or pick another backend (webgpu, wasm, cpu).';

/** Why one package could not be used. */
interface PackageFailure {
  packageName: string;
  notInstalled: boolean;
  message: string;
}

/** `import()` through a variable so TypeScript does not try to resolve an optional package. */
async function importOptional(specifier: string): Promise<Record<string, unknown>> {
  return (await import(specifier)) as Record<string, unknown>;
}

function isNotInstalled(error: unknown, packageName: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${packageName}'`)
  );
}

/** The package's own version, e.g. `version['tfjs-node']`, when it exports one. */
function packageVersion(module: Record<string, unknown>, packageName: string): string {
  const versions = module.version as Record<string, unknown> | undefined;
  const own = versions?.[packageName.replace('@tensorflow/', '')];
  return typeof own === 'string' ? own : 'unknown version';
}

async function tryPackage(packageName: string): Promise<string | PackageFailure> {
  let module: Record<string, unknown>;
  try {
    module = await importOptional(packageName);
  } catch (error) {
    return { packageName, notInstalled: isNotInstalled(error, packageName), message: firstLineOf(error) };
  }
  if (!(tf.engine().registryFactory as Record<string, unknown>)['tensorflow']) {
    return {
      packageName,
      notInstalled: false,
      message:
        `it loaded but registered no 'tensorflow' backend with this tfjs (${tf.version.tfjs}); ` +
        'its @tensorflow/tfjs version must match layercut’s',
    };
  }
  if (!(await tf.setBackend('tensorflow'))) {
    return {
      packageName,
      notInstalled: false,
      message: 'tf.setBackend("tensorflow") failed (see the warning above)',
    };
  }
  return `${packageName} ${packageVersion(module, packageName)}, tfjs ${tf.version.tfjs}`;
}

/** Makes `tensorflow` the active tfjs backend; returns the report's detail line. */
export async function startTensorflowBackend(): Promise<string> {
  const failures: PackageFailure[] = [];
  for (const packageName of tensorflowPackages) {
    const outcome = await tryPackage(packageName);
    if (typeof outcome === 'string') return outcome;
    failures.push(outcome);
  }
  const reason = failures.every((failure) => failure.notInstalled)
    ? `neither ${tensorflowPackages.join(' nor ')} is installed (optional packages): ${failures[0]?.message}`
    : failures
        .map(
          (f) => `${f.packageName} ${f.notInstalled ? 'is not installed' : `failed to load: ${f.message}`}`,
        )
        .join('; ');
  throw new BackendUnavailableError('tensorflow', reason, installHint);
}
