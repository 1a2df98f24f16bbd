// sdd.experiment: one config (a preset name, a YAML file in the authors' layout, or an object) → data
// sets, models, distiller, optimizer, schedule and Trainer. `sdd-torch train`, the demo and the
// experiment scripts build their runs with it; so can users: `(await sdd.experiment.build(config, options)).run()`.
export { build, resolveConfig, type BuildOptions, type ConfigInput, type ConfigSections, type Experiment } from './build.js';
export { configFrom, defaultConfig, isReferenceScales, loadConfig, parseOverride, parseScales, type ExperimentConfig } from './config.js';
export { presetFile, presetNames, presetsDir } from './presets.js';
export { datasetRecipe, openDataset, type DatasetRecipe, type Split } from './datasets.js';
