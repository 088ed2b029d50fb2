/**
 * How the bandit strategy's Thompson sampling (core/rollout/bandit.ts) moves rovers, on simulated paired laser errors:
 * for each true difference of the mean error (candidate - current), the mean number of the deployment's rovers the
 * candidate answers after each look, and how many looks moved rovers (each move is a serving change in the registry).
 *
 *   npx tsx bench/banditAllocation.ts [--rovers 10] [--floor 0.1] [--pairs-per-look 20] [--looks 10] [--seeds 200]
 *
 * Per frame, the current version errs 20 mm +- 5 and the candidate that plus the difference +- 10 mm (normal): both
 * versions predict every frame (the other in shadow), as in a rollout. No store, no workflow: the allocation alone.
 */
import { parseArgs } from 'node:util';
import { banditCandidateRovers, banditStartRovers, summarizeDifferences } from '../core/rollout/bandit.js';
import { createRng } from '../core/random.js';
import { fixed, markdownTable } from './markdownTable.js';

const { values } = parseArgs({
  options: {
    rovers: { type: 'string', default: '10' },
    floor: { type: 'string', default: '0.1' },
    'pairs-per-look': { type: 'string', default: '20' },
    looks: { type: 'string', default: '10' },
    seeds: { type: 'string', default: '200' },
  },
});
const rovers = Number(values.rovers);
const floorShare = Number(values.floor);
const pairsPerLook = Number(values['pairs-per-look']);
const looks = Number(values.looks);
const seeds = Number(values.seeds);

const rows: string[][] = [];
for (const difference of [-5, -2, -1, 0, 1, 2, 5]) {
  const candidateRovers = new Array<number>(looks).fill(0);
  let moves = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const rng = createRng(seed);
    const current: number[] = [];
    const candidate: number[] = [];
    let assigned = banditStartRovers(rovers);
    for (let look = 0; look < looks; look++) {
      for (let i = 0; i < pairsPerLook; i++) {
        const error = 20 + rng.gaussian(0, 5);
        current.push(error);
        candidate.push(error + rng.gaussian(difference, 10));
      }
      const next = banditCandidateRovers(summarizeDifferences(current, candidate), rovers, assigned, floorShare, rng.fork());
      if (next !== assigned) moves++;
      assigned = next;
      candidateRovers[look] += next / seeds;
    }
  }
  rows.push([`${difference > 0 ? '+' : ''}${difference} mm`, ...candidateRovers.map((r) => fixed(r)), fixed(moves / seeds)]);
}
console.log(
  `${rovers} rovers, floor ${floorShare}, ${pairsPerLook} paired frames a look, mean of ${seeds} seeds: rovers on the candidate after each look\n`,
);
console.log(
  markdownTable(
    ['candidate - current', ...Array.from({ length: looks }, (_, i) => `look ${i + 1}`), `looks that moved rovers (of ${looks})`],
    rows,
  ),
);
