/** `npm run bench`: runs every benchmark it knows and prints its figures. */
import { controlPlaneBench } from './controlplane.js';
import { benchLocalCluster } from './localcluster.js';
import { printTable, runtimeBench } from './runtime.js';
import { servicePolicyBench } from './servicepolicy.js';
import { trafficSplitBench } from './trafficsplit.js';

const benches: [string, () => Promise<Parameters<typeof printTable>[1]>][] = [
  ['runtime (bench/runtime.ts)', runtimeBench],
  ['servicepolicy (bench/servicepolicy.ts)', servicePolicyBench],
  ['trafficsplit (bench/trafficsplit.ts)', trafficSplitBench],
  ['controlplane (bench/controlplane.ts)', controlPlaneBench],
];

await benchLocalCluster();
for (const [title, run] of benches) printTable(title, await run());
