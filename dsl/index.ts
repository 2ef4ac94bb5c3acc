/**
 * layercut's experiment DSL (`import { … } from 'layercut/dsl'`): typed, declarative builders
 * of plain data — models, layer selections, tasks, templates and verbalizers, methods,
 * optimizers and schedules, experiments and sweeps. `layercut plan` / `layercut check` and the
 * compiler in src/compile/ turn the exported values of an experiment file into run plans.
 * No tensors and no I/O here.
 */
export { builtin, hf, local, modelLabel } from './models.js';
export type { BuiltinModel, BuiltinModelName, HubModel, LocalModel, Model } from './models.js';
export {
  byAngularDistance,
  byInfluence,
  depth,
  drop,
  dropSublayers,
  keep,
  keepAll,
  keepFirst,
  keepFirstAndLast,
  resolveDepthList,
} from './layers.js';
export type {
  CalibrationOptions,
  CalibrationSpec,
  ComputedLayerSelection,
  DepthList,
  DepthStep,
  DropLayers,
  FirstAndLastLayers,
  LayerSelection,
  LayerText,
  Layers,
  SublayerSelection,
} from './layers.js';
export { paperSeeds, paperTasks, task, tasks } from './tasks.js';
export type { AnyTask, FieldOf, LabelOf, Task, TaskName } from './tasks.js';
export { template, verbalizer } from './prompts.js';
export type { LabelWords, Template, TemplateTag, Verbalizer, VerbalizerOptions } from './prompts.js';
export { cls, icl, linearProbe, lm, promptCls } from './methods.js';
export type {
  ClsMethod,
  IclMethod,
  LinearProbeMethod,
  LmMethod,
  Method,
  MethodOptions,
  PromptClsMethod,
  SlotMethod,
} from './methods.js';
export { adamw, constant, cosine, linear, lora, replaceBlock, sgd } from './training.js';
export type {
  AdamW,
  Backend,
  DataOptions,
  Lora,
  Optimizer,
  ReplaceBlock,
  Schedule,
  ScheduleOptions,
  Sgd,
  TrainOptions,
} from './training.js';
export { experiment, override } from './experiment.js';
export type {
  AnswerSlotCheck,
  Experiment,
  ExperimentOptions,
  ExperimentSettings,
  NeedsAnswerSlot,
  Override,
} from './experiment.js';
export { concat, grid, sample, sweep, zip } from './sweep.js';
export type {
  AxesPart,
  AxisName,
  AxisValues,
  Concat,
  CurrentRun,
  Grid,
  ModelFacts,
  RunSet,
  Sample,
  Sweep,
  SweepAxes,
  SweepLabels,
  Zip,
} from './sweep.js';
export { byteLevelBpe, corpus, gpt2Architecture, pretraining } from './pretraining.js';
export type {
  ByteLevelBpe,
  Corpus,
  CorpusSource,
  Gpt2ArchitectureSpec,
  PretrainTrainOptions,
  Pretraining,
} from './pretraining.js';
