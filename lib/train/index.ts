export { Trainer, type TrainerOptions, type FitResult, type EpochEvent, type StepEvent, type EpochLoader } from './trainer.js';
export { evaluate, type EvalResult, type BatchLike } from './evaluate.js';
