/**
 * Is the Vulkan loader (`libvulkan.so.1`) loadable on this Linux machine? Dawn — the WebGPU
 * implementation behind the `webgpu` backend — reaches the GPU through Vulkan on Linux, and
 * without the loader it finds no adapter at all. This probe looks where the dynamic linker
 * looks (LD_LIBRARY_PATH, the usual library folders, the ld.so cache), so that we can tell the
 * user what is missing without loading Dawn.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const vulkanLoaderName = 'libvulkan.so.1';

export type VulkanLoaderProbe =
  | { found: true; path: string }
  | { found: false; searched: string[] }
  /** Not Linux: Dawn uses Metal (macOS) or D3D12 (Windows); nothing to probe. */
  | { found: 'not-applicable' };

const multiarchTriplets: Record<string, string> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
};

/** Folders the dynamic linker searches for `libvulkan.so.1`, in its order. */
function librarySearchDirs(env: NodeJS.ProcessEnv): string[] {
  const fromEnv = (env.LD_LIBRARY_PATH ?? '').split(':').filter((dir) => dir !== '');
  const triplet = multiarchTriplets[process.arch];
  const standard = [
    ...(triplet ? [`/usr/lib/${triplet}`, `/lib/${triplet}`] : []),
    '/usr/local/lib',
    '/usr/lib64',
    '/lib64',
    '/usr/lib',
    '/lib',
  ];
  return [...fromEnv, ...standard];
}

/**
 * Looks `libvulkan.so.1` up in the ld.so cache (`/etc/ld.so.cache`, what `ldconfig -p` prints).
 * The cache stores NUL-terminated strings; we return the full path of the entry.
 */
function findInLdCache(cacheFile: string): string | undefined {
  let cache: Buffer;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const needle = Buffer.from(`/${vulkanLoaderName}\0`);
  const at = cache.indexOf(needle);
  if (at < 0) return undefined;
  const start = cache.lastIndexOf(0, at) + 1;
  return cache.subarray(start, at + needle.length - 1).toString('utf8');
}

/** Where `libvulkan.so.1` would be loaded from, or every place that was searched. */
export function probeVulkanLoader(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  ldCacheFile = '/etc/ld.so.cache',
): VulkanLoaderProbe {
  if (platform !== 'linux') return { found: 'not-applicable' };
  const dirs = librarySearchDirs(env);
  for (const dir of dirs) {
    const candidate = path.join(dir, vulkanLoaderName);
    if (existsSync(candidate)) return { found: true, path: candidate };
  }
  const cached = findInLdCache(ldCacheFile);
  if (cached) return { found: true, path: cached };
  return { found: false, searched: [...dirs, ldCacheFile] };
}
