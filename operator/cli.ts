#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { generate } from './generate/index.js';
import { runDev as runLocalCluster } from './localcluster/dev.js';
import { operatorOptions, startDevOperator, startOperator, UsageError } from './operator.js';
import { controlPlaneOptions, startControlPlane } from './controlplane/controlplane.js';
import { MeshConfigError } from './controlplane/meshconfig.js';
import { CaptureOptionsError } from './controlplane/injector/capture.js';
import { runCapture } from './controlplane/injector/run-capture.js';

/** The project root: the nearest folder above this file with a package.json (operator/.. from source, dist/.. when built). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

const ROOT = projectRoot();

const USAGE = `usage: meshwright <command>

commands:
  operator [flags]     run the operator against the cluster of KUBECONFIG (or in-cluster); flags:
                         --kubeconfig PATH  --namespace NS (POD_NAMESPACE, default meshwright-system)
                         --leader-elect=false  --metrics-port N (8080)  --health-port N (8081)
                         --bind-address ADDR  --cert-manager-namespace NS (cert-manager)
                         --control-plane-image IMAGE --proxy-image IMAGE  --log-level LEVEL
  control-plane [flags]
                       run the mesh control plane (xDS server, injection webhook, workload
                       identities) as a MeshInstallation deploys it; flags:
                         --config PATH (/etc/meshwright/mesh.yaml)  --tls-dir DIR (/var/run/meshwright/tls)
                         --kubeconfig PATH  --namespace NS  --leader-elect=false  --bind-address ADDR
                         --xds-port N (15012)  --xds-plaintext-port N (15010)  --webhook-port N (15017)
                         --metrics-port N (15014)  --health-port N (15021)  --cluster-domain D  --log-level L
  capture [flags]      (the sidecar's init container) redirect the pod's traffic to the proxy with
                       iptables-restore; --dry-run prints the rules
  generate [--check]   write crds/, docs/api.md, config/ and olm/ from the sources (--check: fail when stale)
  dev [--no-operator]  start the local Kubernetes API server with the CRDs and samples, and the
                       operator in-process against it (always the local cluster, never KUBECONFIG)
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

async function runOperator(args: string[]): Promise<number> {
  let options;
  try {
    options = operatorOptions(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message}\n\n${USAGE}`);
    return 2;
  }
  await startOperator(options).done;
  return 0;
}

async function runControlPlane(args: string[]): Promise<number> {
  let options;
  try {
    options = await controlPlaneOptions(args);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof MeshConfigError)) throw e;
    process.stderr.write(`${e.message}\n\n${USAGE}`);
    return 2;
  }
  const controlPlane = await startControlPlane(options);
  await controlPlane.done;
  // Everything is stopped and drained; a client that half-closed its xDS connection can leave
  // grpc-js handles that keep the event loop alive after forceShutdown, so exit explicitly.
  process.exit(0);
}

/** Resolves on the first SIGINT/SIGTERM. */
const signalled = (): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });

async function runDev(args: string[]): Promise<number> {
  const unknown = args.filter((a) => a !== '--no-operator');
  if (unknown.length) {
    process.stderr.write(`unknown argument: ${unknown.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  const withOperator = !args.includes('--no-operator');
  const clusterStop = new AbortController();
  console.log(
    `Starting the local Kubernetes API server with the Meshwright CRDs and samples${withOperator ? ', and the operator' : ''}...`,
  );
  const { cluster, stopped } = await runLocalCluster({ root: ROOT, signal: clusterStop.signal });
  if (!withOperator) {
    await signalled();
    clusterStop.abort();
    await stopped;
    return 0;
  }

  const operatorStop = new AbortController();
  console.log(`
The operator runs in this process against the local cluster (leader election off; its JSON logs at
level ${process.env.LOG_LEVEL ?? 'warn'}, LOG_LEVEL=info for more). The local cluster runs no
controller-manager and no cert-manager: the lines marked "simulated: local cluster only" play them
(Deployments become available, Certificates Ready, the webhook's caBundle injected).
MeshInstallation conditions as they change:
`);
  const { done } = startDevOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    log: (line) => console.log(line),
    signal: operatorStop.signal,
  });
  const failed = done.then(
    () => undefined,
    (e: unknown) => (e instanceof Error ? e : new Error(`the operator failed: ${JSON.stringify(e)}`)),
  );
  const reason = await Promise.race([signalled().then(() => undefined), failed]);
  operatorStop.abort();
  await done.catch(() => undefined);
  clusterStop.abort();
  await stopped;
  if (reason) {
    console.error(`the operator stopped: ${reason.message}`);
    return 1;
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'operator':
      return runOperator(args);
    case 'control-plane':
      return runControlPlane(args);
    case 'capture':
      try {
        return await runCapture(args, (line) => console.log(line));
      } catch (e) {
        if (!(e instanceof CaptureOptionsError)) throw e;
        process.stderr.write(`${e.message}\n`);
        return 2;
      }
    case 'generate':
      return runGenerate(args);
    case 'dev':
      return runDev(args);
    default:
      process.stderr.write(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
