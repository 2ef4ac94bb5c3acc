/** Shared by the compiler tests: a model catalog that sees no Hugging Face cache (so results do not depend on the machine). */
import path from 'node:path';
import { ModelCatalog } from '../../src/compile/model-info.js';
import { fixturesDir } from '../helpers/fixtures.js';

export const repoRoot = path.resolve(fixturesDir, '..', '..');
export const dslFixture = (name: string): string => path.join(fixturesDir, 'dsl', name);

/** A catalog with an empty (missing) hub cache: hub models are known only from the table of known configs. */
export function offlineCatalog(hubCacheDir = path.join(fixturesDir, 'dsl', 'no-hub-cache')): ModelCatalog {
  return new ModelCatalog({ hubCacheDir });
}
