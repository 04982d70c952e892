/**
 * What each rank runs in test/distributed/collectives.test.ts, under mpirun:
 *
 *   node rankScript.js collectives OUTDIR   each rank writes OUTDIR/rank-R.json: its inputs and what the collectives gave
 *   node rankScript.js die                  rank 1 kills itself (SIGKILL) while rank 0 waits in an all-reduce
 *   node rankScript.js throw                rank 1 exits with status 3 (no MPI_Finalize) while rank 0 waits
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { openCommunicator } from '../../src/distributed/communicator.js';
import { mulberry32 } from '../../src/random.js';

const [mode, outDir] = process.argv.slice(2);
const comm = openCommunicator({ distributed: true });

if (mode === 'collectives') {
  const rng = mulberry32(1000 + comm.rank);
  const n = 1003;
  const f32 = Float32Array.from({ length: n }, () => rng() * 2 - 1);
  const f64 = Float64Array.from({ length: 17 }, () => rng() * 1e6 - 5e5);
  const i32 = Int32Array.from({ length: 9 }, () => Math.floor(rng() * 2000) - 1000);

  const sum = f32.slice();
  comm.allreduce(sum);
  // A view into a larger buffer: only its own elements may change, the sentinels around it stay.
  const wide = new Float32Array(n + 8).fill(100 + comm.rank);
  wide.set(f32, 4);
  comm.allreduce(wide.subarray(4, 4 + n));
  const sum64 = f64.slice();
  comm.allreduce(sum64);
  const max = i32.slice();
  comm.allreduce(max, 'max');
  const min = i32.slice();
  comm.allreduce(min, 'min');
  const fromRank1 = comm.rank === 1 ? Uint8Array.from({ length: 37 }, (_, i) => (i * 7 + 3) & 255) : new Uint8Array(37);
  comm.broadcast(fromRank1, 1);
  const part = Int32Array.from({ length: 3 + comm.rank * 2 }, (_, i) => comm.rank * 100 + i);
  const gathered = comm.gather(part, [3, 5]);
  const everywhere = comm.allGather(Float32Array.from(part, (v) => v + 0.5), [3, 5]);
  writeFileSync(
    join(outDir!, `rank-${comm.rank}.json`),
    JSON.stringify({
      rank: comm.rank,
      size: comm.size,
      f32: [...f32],
      f64: [...f64],
      i32: [...i32],
      sum: [...sum],
      wide: [...wide],
      sum64: [...sum64],
      max: [...max],
      min: [...min],
      fromRank1: [...fromRank1],
      part: [...part],
      gathered: gathered === undefined ? null : [...gathered],
      everywhere: [...everywhere],
      stats: comm.stats,
    }),
  );
} else if (mode === 'die' || mode === 'throw') {
  if (comm.rank === 1) {
    setTimeout(() => {
      if (mode === 'die') process.kill(process.pid, 'SIGKILL');
      else process.exit(3);
    }, 300);
  } else {
    process.stdout.write('rank 0 waiting in allreduce\n');
    comm.allreduce(new Float32Array(4));
    process.stdout.write('rank 0 returned from allreduce\n');
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
