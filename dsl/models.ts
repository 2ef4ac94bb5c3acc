/**
 * Where an experiment's model comes from: a hub repository, a local checkpoint folder, or a
 * model shipped with layercut. Plain data: exactly the `ModelSource` of a run plan (written
 * out here so that type-checking an experiment file does not pull in the engine's types; a
 * test keeps the two equal).
 */

export interface HubModel {
  kind: 'hub';
  /** Repository id, e.g. `openai-community/gpt2-xl`. */
  repo: string;
  /** Branch, tag or commit (default: main). */
  revision?: string;
}

export interface LocalModel {
  kind: 'local';
  /** A folder with config.json and safetensors, relative to the working directory. */
  path: string;
}

export interface BuiltinModel {
  kind: 'builtin';
  name: string;
}

export type Model = HubModel | LocalModel | BuiltinModel;

/** A hub model by repository id, e.g. `hf('openai-community/gpt2-xl')`; `revision` pins a branch, tag or commit. */
export function hf(repo: string, options: { revision?: string } = {}): HubModel {
  return options.revision === undefined
    ? { kind: 'hub', repo }
    : { kind: 'hub', repo, revision: options.revision };
}

/** A Hugging Face checkpoint folder (config.json + safetensors), relative to the working directory. */
export function local(path: string): LocalModel {
  return { kind: 'local', path };
}

/**
 * Names of the built-in models: `tiny-english` (shipped, pretrained by layercut), `tiny-gpt2`
 * (random weights, written on first use), or any model folder in a folder of `$LAYERCUT_MODELS`.
 */
// `string & {}`: any name, with the known ones offered by an editor.
export type BuiltinModelName = 'tiny-english' | 'tiny-gpt2' | (string & {});

/** A built-in model, e.g. `builtin('tiny-english')` (8 layers, pretrained on English text offline). */
export function builtin(name: BuiltinModelName): BuiltinModel {
  return { kind: 'builtin', name };
}

/** How a model reads in listings: the repo id, the path, or the builtin name. */
export function modelLabel(model: Model): string {
  switch (model.kind) {
    case 'hub':
      return model.revision ? `${model.repo}@${model.revision}` : model.repo;
    case 'local':
      return model.path;
    case 'builtin':
      return `builtin:${model.name}`;
  }
}
