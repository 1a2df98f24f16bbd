// sdd.dist: multi-process data parallelism on c10d (Gloo on CPU, NCCL on CUDA).
export {
  initProcessGroup, destroyProcessGroup, isInitialized, group, rank, worldSize, availableBackends,
  allReduce, broadcast, allGather, reduceScatter, barrier, ProcessGroup,
  type InitOptions, type Backend, type ReduceOp,
} from './process-group.js';
export { DistributedDataParallel, ddp, replicate, convertSyncBatchNorm, type DdpOptions, type SyncStats, type ReplicableModule } from './ddp.js';
export { launch, type LaunchOptions, type LaunchResult } from './launch.js';
