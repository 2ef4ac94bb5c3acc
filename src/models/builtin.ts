/**
 * Built-in models: `builtin('<name>')` in an experiment. Two kinds, looked up in this order:
 *
 *   1. model folders (config.json + safetensors + tokenizer files): those listed in
 *      `$LAYERCUT_MODELS`, then the package's `models/<name>/` (`tiny-english`). A real
 *      pretrained small model shipped under `models/<name>/` therefore takes precedence over
 *      a generated one of the same name.
 *   2. generated models (`tiny-gpt2`): a deterministic random checkpoint with the real GPT-2
 *      tokenizer (`models/tokenizers/gpt2/`), written with layercut's safetensors writer into
 *      `{LAYERCUT_CACHE}/models/<name>/` when a run first needs it (`builtinModelFolder`) and
 *      reused after. The compiler describes it from its recipe (`describeBuiltin`), writing
 *      nothing.
 *
 * `models/` is the package's folder of built-in assets: everything here reads from there, and
 * package.json ships it. A generated folder is written under a temporary name and renamed into
 * place, so a folder under the real name is always complete, and a current one is never
 * replaced (processes that write it at once keep the first). Its `layercut-builtin.json`
 * records the recipe version: a folder from another version is rebuilt.
 */
import { packageRoot } from '../package-root.js';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { LayercutError } from '../errors.js';
import { layercutCacheDir } from '../hub/settings.js';
import { layercutEnv } from '../env.js';
import { writeSafetensors } from '../weights/safetensors.js';
import { randomGpt2Checkpoint } from './init.js';

/** The package's built-in assets: shipped models (`models/<name>/`) and tokenizers (`models/tokenizers/`). */
export const assetsDir = path.join(packageRoot, 'models');

/** Folders searched for built-in model folders, in order: `$LAYERCUT_MODELS`, then the shipped `models/`. */
export function builtinModelDirs(): string[] {
  return [...layercutEnv().models, assetsDir];
}

/** Where the GPT-2 tokenizer files of generated GPT-2 models come from. */
const gpt2TokenizerDir = path.join(assetsDir, 'tokenizers', 'gpt2');
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

/** A model layercut writes itself, from a config and a seed. */
interface GeneratedModel {
  /** Bumped whenever the recipe (config, initialisation) changes: older folders are rebuilt. */
  version: number;
  description: string;
  config: Record<string, unknown>;
  seed: number;
}

const generatedModels: Record<string, GeneratedModel> = {
  'tiny-gpt2': {
    version: 1,
    description: 'random GPT-2 (4 layers, width 64, 4 heads, 128 positions) with the real GPT-2 tokenizer',
    config: {
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      n_layer: 4,
      n_embd: 64,
      n_head: 4,
      n_positions: 128,
      n_ctx: 128,
      vocab_size: 50257,
      bos_token_id: 50256,
      eos_token_id: 50256,
      layer_norm_epsilon: 1e-5,
      activation_function: 'gelu_new',
      initializer_range: 0.02,
      torch_dtype: 'float32',
    },
    seed: 20240523,
  },
};

/** Names of the models layercut generates on first use. */
export const generatedModelNames: readonly string[] = Object.keys(generatedModels);

export interface BuiltinModelOptions {
  /** Model folders to search first (default: `builtinModelDirs()`). */
  shippedDirs?: readonly string[];
  /** layercut's cache (default: `$LAYERCUT_CACHE`, else ~/.cache/layercut). */
  cacheDir?: string;
}

/** The model folder of `name` (one with a config.json) in `dirs`, if any. */
export function shippedModelDir(
  name: string,
  dirs: readonly string[] = builtinModelDirs(),
): string | undefined {
  return dirs.map((dir) => path.join(dir, name)).find((dir) => existsSync(path.join(dir, 'config.json')));
}

/** A built-in model as the compiler sees it, with nothing written: a folder, or a recipe. */
export type BuiltinModelInfo =
  | { kind: 'folder'; dir: string }
  | {
      kind: 'generated';
      /** Its config.json, as it will be written. */
      config: Record<string, unknown>;
      /** Where its tokenizer files are now (they are copied into its folder). */
      tokenizerDir: string;
      /** The folder a run writes it into (it may not exist yet). */
      dir: string;
    };

/** Where built-in model `name` is, or how it is made; writes nothing. A LayercutError names the known models otherwise. */
export function describeBuiltin(name: string, options: BuiltinModelOptions = {}): BuiltinModelInfo {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new LayercutError(`'${name}' is not a built-in model name`);
  const dirs = options.shippedDirs ?? builtinModelDirs();
  const shipped = shippedModelDir(name, dirs);
  if (shipped) return { kind: 'folder', dir: shipped };
  const recipe = generatedModels[name];
  if (recipe) {
    return {
      kind: 'generated',
      config: recipe.config,
      tokenizerDir: gpt2TokenizerDir,
      dir: generatedModelDir(name, options.cacheDir ?? layercutCacheDir()),
    };
  }
  throw new LayercutError(
    `no built-in model '${name}'`,
    `built-in models: ${generatedModelNames.join(', ')}, or a folder in ${dirs.join(' or ')}`,
  );
}

/**
 * The folder of built-in model `name`, for a run: the shipped one, else the generated one
 * (written into the cache first when it is missing or stale).
 */
export async function builtinModelFolder(name: string, options: BuiltinModelOptions = {}): Promise<string> {
  const info = describeBuiltin(name, options);
  return info.kind === 'folder' ? info.dir : materializeGeneratedModel(name, options.cacheDir ?? layercutCacheDir());
}

/** `{cacheDir}/models/<name>`: where a generated model is written. */
function generatedModelDir(name: string, cacheDir: string): string {
  return path.join(cacheDir, 'models', name);
}

interface Marker {
  name: string;
  version: number;
}

async function readMarker(dir: string): Promise<Marker | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, MARKER_FILE), 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

const MARKER_FILE = 'layercut-builtin.json';

/** Whether `dir` holds generated model `name` of recipe `version` (its marker says so). */
async function isCurrent(dir: string, name: string, version: number): Promise<boolean> {
  const marker = await readMarker(dir);
  return marker?.name === name && marker.version === version;
}

/** `{cacheDir}/models/<name>`, written when missing or from another recipe version. */
export async function materializeGeneratedModel(name: string, cacheDir: string): Promise<string> {
  const recipe = generatedModels[name];
  if (!recipe) throw new LayercutError(`layercut does not generate a model called '${name}'`);
  const target = generatedModelDir(name, cacheDir);
  if (await isCurrent(target, name, recipe.version)) return target;

  const parent = path.dirname(target);
  try {
    await mkdir(parent, { recursive: true });
  } catch (error) {
    throw new LayercutError(
      `cannot create ${parent} for the built-in model '${name}': ${(error as Error).message}`,
      'set LAYERCUT_CACHE to a folder you can write to',
    );
  }
  const temporary = path.join(parent, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeGeneratedModel(temporary, name, recipe);
    await moveIntoPlace(temporary, target, name, recipe.version);
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
  return target;
}

/**
 * Renames the finished folder `temporary` to `target`. A current copy already there (another
 * process was quicker) is kept, never replaced, as a run may be reading it; a stale or partial
 * one is first renamed aside (one atomic step, so two processes cannot both remove it) and then
 * deleted. `target` is never a folder with some of its files missing.
 */
async function moveIntoPlace(temporary: string, target: string, name: string, version: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(temporary, target);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      if (await isCurrent(target, name, version)) return;
      if (attempt === 3) throw error;
    }
    const aside = `${temporary}.stale`;
    try {
      await rename(target, aside);
    } catch (error) {
      // Another process moved it first.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await rm(aside, { recursive: true, force: true });
  }
}

/**
 * Writes config.json, model.safetensors (initialised as transformers initialises GPT-2, see
 * init.ts), the tokenizer files and the marker into `dir`.
 */
async function writeGeneratedModel(dir: string, name: string, recipe: GeneratedModel): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors = await randomGpt2Checkpoint(recipe.config, recipe.seed);
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeFile(path.join(dir, 'config.json'), `${JSON.stringify(recipe.config, null, 2)}\n`);
  for (const file of TOKENIZER_FILES) await copyFile(path.join(gpt2TokenizerDir, file), path.join(dir, file));
  const marker: Marker & { description: string } = {
    name,
    version: recipe.version,
    description: recipe.description,
  };
  await writeFile(path.join(dir, MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
}
