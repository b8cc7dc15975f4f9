#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { generate } from './generate/index.js';
import { KINDS } from './api/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: meshwright <command>

commands:
  generate [--check]   write crds/ from operator/api (--check: fail when they are stale)
  dev                  run Meshwright locally (for now: print the API it serves)
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

function runDev(): number {
  console.log('Meshwright API (mesh.meshwright.io/v1alpha1), CRDs in crds/:\n');
  for (const kind of KINDS) {
    console.log(
      `  ${kind.kind.padEnd(17)} ${kind.scope.padEnd(10)} short name ${kind.shortNames.join(', ')}`,
    );
  }
  console.log(`
Coming next: \`npm start\` will start an in-memory Kubernetes API server, install these CRDs and the
samples in config/samples/, and run the operator against it. Until then, apply the CRDs to a
cluster of your own:  kubectl apply -f crds/`);
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
