/**
 * The experiment compiler: DSL values or experiment files → checked run plans with ids,
 * issues placed at file:line:col, model sizes and cost estimates; `layercut check` and
 * `layercut plan` are built on it.
 */
export { compile, compileValues } from './compile.js';
export type { CompileOptions, CompileResult, CompiledRun, NamedValue } from './compile.js';
export { compileFile, exportOrder, ExperimentLoadError, loadExperimentFile } from './file.js';
export type { CompileFileOptions, CompiledFile, ExperimentFile } from './file.js';
export { checkFile, experimentProject, formatDiagnostic, typeDiagnostics } from './check.js';
export type { CheckOptions, FileDiagnostic } from './check.js';
export { CompileError, describePath, formatIssue } from './issues.js';
export type { CompileIssue, InnerPosition, LocatedIssue, SourceLocation, ValuePath } from './issues.js';
export { ModelCatalog, parameterCount } from './model-info.js';
export type { KnownModel, ModelCatalogOptions, ModelDescription, UnknownModel } from './model-info.js';
export { knownConfig, knownConfigs } from './known-configs.js';
export { estimateRun, promptTokens, tokenEstimate } from './estimate.js';
export type { RunEstimate } from './estimate.js';
export { formatListing, listPlan } from './listing.js';
export type { ListingOptions, PlanListing, PlannedRun } from './listing.js';
export { parseLayerText, readLayers, resolveLayerRequest } from './layers.js';
export type { LayerRequest, ResolvedLayers } from './layers.js';
export { SourceLocator } from './locate.js';
