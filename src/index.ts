/**
 * layercut's package root (`import { … } from 'layercut'`): what a notebook cell or a program
 * needs, in one import — the experiment DSL (also on its own as `layercut/dsl`), the compiler,
 * the runner, the training engine, the results store and its views, plot specs, and the
 * notebook helpers `run`, `show` and `plot`.
 *
 * Everything here must load with `require('layercut')` (tslab loads packages that way), so no
 * module reachable from this file may use top-level await, nor import one that does: vega
 * and vega-lite do, so the renderers are loaded on first use (src/notebook/render.ts).
 */
export * from '../dsl/index.js';

export { compile, compileValues } from './compile/compile.js';
export type { CompileOptions, CompileResult, CompiledRun, NamedValue } from './compile/compile.js';
export { CompileError, formatIssue } from './compile/issues.js';
export type { CompileIssue } from './compile/issues.js';
export { compileFile, loadExperimentFile } from './compile/file.js';
export type { CompileFileOptions, CompiledFile, ExperimentFile } from './compile/file.js';
export { formatListing, listPlan } from './compile/listing.js';
export type { ListingOptions, PlanListing, PlannedRun } from './compile/listing.js';

export { runId } from './plan/id.js';
export { PAPER_DEFAULTS } from './plan/types.js';
export type * from './plan/types.js';

export * from './runner/index.js';
export { runExperiment } from './experiment/run.js';
export type { RunOptions, RunProgress } from './experiment/run.js';
export { loadModel } from './models/load.js';
export type { LoadOptions, LoadedModel } from './models/load.js';
export { getTask, taskNames } from './data/tasks.js';
export type { TaskSpec } from './data/tasks.js';
export { backendNames, describeBackend, initBackend } from './runtime/backend.js';
export type { BackendName, BackendOptions, BackendReport } from './runtime/backend.js';

export * from './results/index.js';
/** arquero, for queries on `results.runs()` and other tables: `aq.from(rows)`, `aq.op.mean(…)`. */
export * as aq from 'arquero';
// Plot specs and their data; the renderers come lazily with the notebook helpers below.
export * from './plots/plot-data.js';
export * from './plots/specs.js';

export * from './notebook/index.js';

export { LayercutError } from './errors.js';
export { layerReport, measureLayers, modelSourceFromText } from './select/report.js';
export type { LayerReport, LayerReportOptions, LayerMeasurement, LayerSuggestions } from './select/report.js';
export { greedyLayerSearch, labelAccuracy } from './select/greedy.js';
export type { GreedyOptions, GreedySearchResult, GreedyStep } from './select/greedy.js';
export { withLayers } from './select/layer-view.js';
export { chooseComputedLayers, keepByInfluence, resolveComputedSelection } from './select/computed.js';
export {
  angularDistancesOver,
  calibrationSample,
  depthSimilarity,
  influenceOver,
} from './select/calibration.js';
export {
  accuracyByDepth,
  averageRanks,
  depthCorrelations,
  depthScores,
  spearman,
} from './select/correlation.js';
export * from './plots/layer-plots.js';
export { compilePretraining, isPretraining, PRETRAIN_DEFAULTS } from './pretrain/compile.js';
export { runPretraining } from './pretrain/run.js';
export type { PretrainOptions, PretrainProgress } from './pretrain/run.js';
export type * from './pretrain/plan.js';
export { pretrainCurveSpec } from './plots/pretrain-plots.js';
