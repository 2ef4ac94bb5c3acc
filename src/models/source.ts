/**
 * Where a model's files are: a plan's `ModelSource` (a local folder, a built-in, a hub repo) as a
 * local folder, hub models downloaded into the hub cache first (only the files layercut reads).
 */
import path from 'node:path';
import { downloadRepoFiles } from '../hub/download.js';
import type { ModelSource } from '../plan/types.js';
import { builtinModelFolder } from './builtin.js';

/** Bytes of one file downloaded so far. */
export interface DownloadProgress {
  file: string;
  loaded: number;
  total: number;
}

/** The local directory of a model, downloading hub models into the hub cache first. */
export async function resolveModelDir(
  source: ModelSource,
  onDownload?: (progress: DownloadProgress) => void,
): Promise<string> {
  switch (source.kind) {
    case 'local':
      return path.resolve(source.path);
    case 'builtin':
      // A shipped folder (models/, or one in LAYERCUT_MODELS) first, else a generated model (tiny-gpt2) from the cache.
      return builtinModelFolder(source.name);
    case 'hub': {
      const result = await downloadRepoFiles({
        repo: source.repo,
        revision: source.revision,
        patterns: [
          'config.json',
          '*.safetensors',
          'model.safetensors.index.json',
          'tokenizer.json',
          'tokenizer_config.json',
          'special_tokens_map.json',
        ],
        onProgress: (event) => onDownload?.({ file: event.path, loaded: event.loaded, total: event.total }),
      });
      return result.snapshotDir;
    }
  }
}
