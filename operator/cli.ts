#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { generate } from './generate/index.js';
import { runDev as runLocalCluster } from './localcluster/dev.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: meshwright <command>

commands:
  generate [--check]   write crds/ from operator/api (--check: fail when they are stale)
  dev                  start the local Kubernetes API server with the CRDs and samples
`;

async function runGenerate(args: string[]): Promise<number> {
  const check = args.includes('--check');
  const { written, stale } = await generate(ROOT, { check });
  if (check && stale.length) {
    console.error(`generated files are stale; run \`npm run generate\`:\n  ${stale.join('\n  ')}`);
    return 1;
  }
  for (const path of written) console.log(`wrote ${path}`);
  for (const path of stale) console.warn(`stale: ${path}`);
  if (check) console.log('generated files are current');
  return 0;
}

async function runDev(): Promise<number> {
  console.log('Starting the local Kubernetes API server with the Meshwright CRDs and samples...');
  // The operator itself comes next; until then the local cluster serves the API for kubectl.
  const { stopped } = await runLocalCluster({ root: ROOT });
  await stopped;
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'generate':
      return runGenerate(args);
    case 'dev':
      return runDev();
    default:
      process.stderr.write(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
