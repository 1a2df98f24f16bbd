export { Optimizer, type OptimizerStateDict, type ParamGroup, type ParamsInput } from './optimizer.js';
export { SGD, sgd, type SgdOptions } from './sgd.js';
export { AdamW, adamw, type AdamWOptions } from './adamw.js';
export { clipGradNorm } from './clip.js';
export { noDecayGroups } from './groups.js';
