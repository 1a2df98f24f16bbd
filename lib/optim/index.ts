// sdd.optim: optimizers (SGD, AdamW) updating parameters natively, gradient clipping and weight-decay groups;
// the learning-rate schedules are sdd.schedules (schedules.ts).
export { Optimizer, type OptimizerStateDict, type ParamGroup, type ParamsInput } from './optimizer.js';
export { SGD, sgd, type SgdOptions } from './sgd.js';
export { AdamW, adamw, type AdamWOptions } from './adamw.js';
export { clipGradNorm } from './clip.js';
export { noDecayGroups } from './groups.js';
