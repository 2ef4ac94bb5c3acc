/**
 * A model catalog for the compiler that also knows the generated built-in models
 * (`builtin('tiny-gpt2')`): it writes such a model into layercut's cache when an experiment
 * first names it, then describes it from that folder like a local checkpoint. Shipped folders
 * (`models/<name>/`, `test/fixtures/models/<name>/`) still come first.
 */
import { ModelCatalog, type ModelCatalogOptions, type ModelDescription } from '../compile/model-info.js';
import { generatedModelNames, materializeGeneratedModel, shippedModelDir } from '../models/builtin.js';
import { layercutCacheDir } from '../hub/settings.js';
import type { ModelSource } from '../plan/types.js';

export interface RunnerCatalogOptions extends ModelCatalogOptions {
  /** layercut's cache, where generated models are written (default: `$LAYERCUT_CACHE`, else ~/.cache/layercut). */
  layercutCacheDir?: string;
}

export class RunnerModelCatalog extends ModelCatalog {
  private readonly generatedCache: string;

  constructor(options: RunnerCatalogOptions = {}) {
    super(options);
    this.generatedCache = options.layercutCacheDir ?? layercutCacheDir();
  }

  override describe(model: ModelSource): Promise<ModelDescription> {
    if (
      model.kind === 'builtin' &&
      generatedModelNames.includes(model.name) &&
      shippedModelDir(model.name, this.builtinDirs) === undefined
    ) {
      return materializeGeneratedModel(model.name, this.generatedCache).then((dir) =>
        super.describe({ kind: 'local', path: dir }),
      );
    }
    return super.describe(model);
  }
}
