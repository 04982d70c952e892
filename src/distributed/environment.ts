/**
 * Whether this process is one rank of an MPI job, read from the variables
 * the launcher sets (no MPI call): Open MPI's `mpirun` sets
 * OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE}; MPICH's Hydra and
 * Intel MPI set PMI_RANK and PMI_SIZE.
 *
 *   mpiEnvironment({ OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '2' })
 *   // { rank: 1, size: 2, localRank: 1, localSize: 2 }
 *   mpiEnvironment({})  // undefined: not started by mpirun
 */

export interface MpiEnvironment {
  /** This process's rank in the whole job, 0 to size - 1. */
  rank: number;
  size: number;
  /** Its rank among the job's processes on this machine, and their count (threads are shared among them). */
  localRank: number;
  localSize: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

/** The MPI job this process belongs to, or undefined outside one. */
export function mpiEnvironment(env: Env = process.env): MpiEnvironment | undefined {
  const rank = integer(env['OMPI_COMM_WORLD_RANK'] ?? env['PMI_RANK']);
  const size = integer(env['OMPI_COMM_WORLD_SIZE'] ?? env['PMI_SIZE']);
  if (rank === undefined || size === undefined || size < 1 || rank >= size) return undefined;
  const localSize = integer(env['OMPI_COMM_WORLD_LOCAL_SIZE'] ?? env['MPI_LOCALNRANKS']) ?? size;
  const localRank = integer(env['OMPI_COMM_WORLD_LOCAL_RANK'] ?? env['MPI_LOCALRANKID']) ?? rank;
  return { rank, size, localRank, localSize: Math.max(1, localSize) };
}
