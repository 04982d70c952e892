/**
 * Loads the MPI collectives addon (native/mpi/build/Release/vqvae_mpi.node,
 * built by scripts/build-mpi.mjs during `npm ci` when libopenmpi-dev is
 * installed) and types its functions. When it is not there or does not
 * load, `loadMpi()` says why in one line, e.g.
 * 'libopenmpi-dev not installed: apt-get install libopenmpi-dev openmpi-bin'.
 *
 * Array arguments are used in place (their own memory, byteOffset included).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Reduction operations of `allreduce`. */
export const MPI_SUM = 0;
export const MPI_MAX = 1;
export const MPI_MIN = 2;
export type MpiOp = typeof MPI_SUM | typeof MPI_MAX | typeof MPI_MIN;

export type ReducibleArray = Float32Array | Float64Array | Int32Array | Uint32Array;

export interface MpiAddon {
  /** MPI_Init_thread(MPI_THREAD_FUNNELED) once per process; later calls return the same. */
  init(): { rank: number; size: number; threadLevel: number; funneled: boolean; library: string };
  rank(): number;
  size(): number;
  barrier(): void;
  /** Every rank's `array` becomes the element-wise reduction over ranks (same length everywhere). */
  allreduce(array: ReducibleArray, op: MpiOp): void;
  /** Every rank's `array` gets `root`'s bytes (same byte length everywhere). */
  broadcast(array: ArrayBufferView, root: number): void;
  /** Rank r's `send` bytes go to `root`'s `recv` after the bytes of ranks below r; `recv` is null elsewhere. */
  gatherv(send: ArrayBufferView, recv: ArrayBufferView | null, byteCounts: number[], root: number): void;
  /** Every rank's `recv` gets all ranks' `send` bytes in rank order. */
  allgatherv(send: ArrayBufferView, recv: ArrayBufferView, byteCounts: number[]): void;
  /** MPI_Abort: ends every rank of the job; does not return. */
  abort(code: number): never;
  finalize(): void;
}

export type MpiLoad = { addon: MpiAddon; reason?: undefined } | { addon?: undefined; reason: string };

const buildDir = fileURLToPath(new URL('../../../native/mpi/build/', import.meta.url));
let loaded: MpiLoad | undefined;

/** The addon, or why it is unavailable; loaded once. */
export function loadMpi(): MpiLoad {
  loaded ??= load();
  return loaded;
}

function load(): MpiLoad {
  const file = `${buildDir}Release/vqvae_mpi.node`;
  if (!existsSync(file)) {
    const status = `${buildDir}status.txt`;
    const why = existsSync(status) ? readFileSync(status, 'utf8').trim() : '';
    return { reason: why !== '' && why !== 'built' ? why : 'MPI addon not built: run `npm run build:native`' };
  }
  try {
    return { addon: createRequire(import.meta.url)(file) as MpiAddon };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { reason: `MPI addon failed to load: ${message.split('\n')[0]}` };
  }
}
