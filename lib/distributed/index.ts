// Distributed (data-parallel) training over Open MPI: the world of ranks,
// collectives with deadlines, gradient buckets, data sharding, replica
// checks and checkpoint sharing.
export {
  initDistributed, defaultWorld, launchedByMpi, rank, worldSize, allReduce, broadcast, barrier,
  SINGLE_PROCESS, DEFAULT_TIMEOUT_SEC,
} from './world.js';
export type { World, Collective, CommStats, ReduceOp, InitDistributedOptions } from './world.js';
export { openMpiLibrary, LIBMPI_CANDIDATES, INSTALL_HINT } from './mpi_library.js';
export { DataParallel, DEFAULT_BUCKET_BYTES } from './data_parallel.js';
export type { DataParallelOptions, StepTotals } from './data_parallel.js';
export { drawShard, isMine, sumOverRanks, gatherRngStates, rankSeed } from './sharding.js';
export { checkReplicasAgree, checkSameData, parametersDigest } from './replicas.js';
export { shareCheckpoint, resumeFolder, broadcastJson } from './checkpoint_sync.js';
