// The training loop: the Trainer (epochs, checkpoints, resume, metrics, data parallelism) and evaluate()
// (top-1/top-5 and loss on a test loader), exported at the package root.
export { Trainer, type TrainerOptions, type FitResult, type EpochEvent, type StepEvent, type EpochLoader } from './trainer.js';
export { evaluate, type EvalResult, type BatchLike } from './evaluate.js';
