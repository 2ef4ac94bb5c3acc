/**
 * What the compiler knows about a model before loading any weights: its family and parsed
 * config.json, hence its depth and the size of any cut. Where config.json comes from:
 *
 *   builtin  its folder (in $LAYERCUT_MODELS, else the package's models/<name>), or the recipe
 *            of a generated model (tiny-gpt2: nothing is written until a run needs it)
 *   local    <path>/config.json (relative to the working directory)
 *   hub      the Hugging Face cache if it holds the revision's config.json, else the table of
 *            known configs (src/compile/known-configs.ts); else unknown: layer checks then
 *            wait until the run downloads it.
 *
 * Nothing here touches the network or writes a file. The model families are imported lazily (they bring tfjs).
 */
import { builtinModelDirs, describeBuiltin } from '../models/builtin.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LayercutError } from '../errors.js';
import { RepoCache } from '../hub/cache.js';
import { hubCacheFromEnv, layercutCacheDir } from '../hub/settings.js';
import type { FamilyConfig, ModelFamily } from '../models/types.js';
import type { ModelSource } from '../plan/types.js';
import { knownConfig } from './known-configs.js';

export interface KnownModel {
  known: true;
  family: ModelFamily;
  config: FamilyConfig;
  /** Number of transformer layers. */
  depth: number;
  /** Where config.json was read. */
  configFrom: 'folder' | 'hub cache' | 'known configs' | 'built-in recipe';
  /** The model folder, for builtin and local models (a generated one's: where a run writes it). */
  dir?: string;
  /** Where its tokenizer files are, when not in `dir` (a generated model not written yet). */
  tokenizerDir?: string;
}

export interface UnknownModel {
  known: false;
  /** Why the config is not available (a sentence). */
  reason: string;
}

export type ModelDescription = KnownModel | UnknownModel;

export interface ModelCatalogOptions {
  /** Local model paths resolve against this folder (default: the working directory). */
  cwd?: string;
  /** The Hugging Face cache (default: from HF_HUB_CACHE / HF_HOME, as the hub client). */
  hubCacheDir?: string;
  /** Where builtin model folders are looked up (default: builtinModelDirs(): $LAYERCUT_MODELS, models/). */
  builtinDirs?: readonly string[];
  /** layercut's cache, where runs write generated built-in models (default: `$LAYERCUT_CACHE`, else ~/.cache/layercut). */
  layercutCacheDir?: string;
  /** Use the table of known hub configs (default true). */
  useKnownConfigs?: boolean;
}

/**
 * Parses config.json contents into family + config, or a LayercutError naming the file
 * (models/load.ts, imported on first use: the families import tfjs).
 */
async function parseConfigJson(
  json: Record<string, unknown>,
  where: string,
): Promise<{ family: ModelFamily; config: FamilyConfig }> {
  return (await import('../models/load.js')).parseModelConfig(json, where);
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new LayercutError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Describes models (memoised: each is read once per catalog). */
export class ModelCatalog {
  private readonly cache = new Map<string, Promise<ModelDescription>>();
  readonly cwd: string;
  readonly hubCacheDir: string;
  readonly builtinDirs: readonly string[];
  readonly layercutCacheDir: string;
  readonly useKnownConfigs: boolean;

  constructor(options: ModelCatalogOptions = {}) {
    this.cwd = options.cwd ?? process.cwd();
    this.hubCacheDir = options.hubCacheDir ?? hubCacheFromEnv(process.env);
    this.builtinDirs = options.builtinDirs ?? builtinModelDirs();
    this.layercutCacheDir = options.layercutCacheDir ?? layercutCacheDir();
    this.useKnownConfigs = options.useKnownConfigs ?? true;
  }

  /** Family, config and depth of `model`, or why they are unknown. Throws LayercutError for a broken config. */
  describe(model: ModelSource): Promise<ModelDescription> {
    const key = JSON.stringify(model);
    let found = this.cache.get(key);
    if (!found) {
      found = this.lookUp(model);
      this.cache.set(key, found);
    }
    return found;
  }

  /**
   * The folder holding `model`'s tokenizer.json, from what is on this machine: the model's own
   * folder (builtin, local) or the Hugging Face cache (hub). Never downloads; when it is not
   * here, why not.
   */
  async tokenizerDir(model: ModelSource): Promise<{ dir: string } | { reason: string }> {
    if (model.kind === 'hub') {
      const cache = new RepoCache(this.hubCacheDir, { repo: model.repo, repoType: 'model' });
      const commit = await cache.readRef(model.revision ?? 'main');
      const file = commit ? await cache.cachedFile(commit, 'tokenizer.json') : undefined;
      return file
        ? { dir: path.dirname(file) }
        : { reason: `the tokenizer of ${model.repo} is not in the Hugging Face cache (${this.hubCacheDir})` };
    }
    const description = await this.describe(model);
    const dir = description.known ? (description.tokenizerDir ?? description.dir) : undefined;
    if (dir && existsSync(path.join(dir, 'tokenizer.json'))) return { dir };
    return { reason: `there is no tokenizer.json ${dir ? `in ${dir}` : `for ${JSON.stringify(model)}`}` };
  }

  private async fromFolder(dir: string): Promise<ModelDescription> {
    const file = path.join(dir, 'config.json');
    if (!existsSync(file)) return { known: false, reason: `there is no config.json in ${dir}` };
    const { family, config } = await parseConfigJson(await readJson(file), file);
    return { known: true, family, config, depth: config.numLayers, configFrom: 'folder', dir };
  }

  private async lookUp(model: ModelSource): Promise<ModelDescription> {
    switch (model.kind) {
      case 'builtin': {
        const builtin = describeBuiltin(model.name, {
          shippedDirs: this.builtinDirs,
          cacheDir: this.layercutCacheDir,
        });
        if (builtin.kind === 'folder') return this.fromFolder(builtin.dir);
        const { family, config } = await parseConfigJson(builtin.config, `built-in model ${model.name}`);
        return {
          known: true,
          family,
          config,
          depth: config.numLayers,
          configFrom: 'built-in recipe',
          dir: builtin.dir,
          tokenizerDir: builtin.tokenizerDir,
        };
      }
      case 'local':
        return this.fromFolder(path.resolve(this.cwd, model.path));
      case 'hub': {
        const revision = model.revision ?? 'main';
        const cache = new RepoCache(this.hubCacheDir, { repo: model.repo, repoType: 'model' });
        const commit = await cache.readRef(revision);
        if (commit) {
          const file = await cache.cachedFile(commit, 'config.json');
          if (file) {
            const { family, config } = await parseConfigJson(await readJson(file), file);
            return { known: true, family, config, depth: config.numLayers, configFrom: 'hub cache' };
          }
        }
        const table = this.useKnownConfigs ? knownConfig(model.repo) : undefined;
        if (table) {
          const { family, config } = await parseConfigJson(table, `known config of ${model.repo}`);
          return { known: true, family, config, depth: config.numLayers, configFrom: 'known configs' };
        }
        return {
          known: false,
          reason: `config.json of ${model.repo} is not in the Hugging Face cache nor in layercut's table of known models`,
        };
      }
    }
  }
}

/** Parameters of `model` cut to `keptLayers` (embeddings, kept layers, final norm, untied head), from config alone. */
export function parameterCount(model: KnownModel, keptLayers: readonly number[]): number {
  let total = 0;
  for (const shape of model.family.expectedTensors(model.config, [...keptLayers]).values()) {
    total += shape.reduce((a, b) => a * b, 1);
  }
  return total;
}
