/**
 * kubectl against the API server over HTTPS with the admin kubeconfig: the CRDs and samples of this
 * repository applied, waited for, listed with their printer columns, explained, described, applied
 * server-side and deleted; every test/fixtures/invalid/*.yaml refused with `<field>: <message>`; and
 * (local cluster only, which mints the identity) a service account's 403s and `auth can-i`.
 * The steps run in order (each builds on the CRDs and samples the earlier ones applied). Skipped when
 * kubectl is not on PATH.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { invalidFixtures, ROOT } from '../api/support.js';
import { connect, REAL, type Harness } from './harness.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const SKIP = hasKubectl ? false : 'kubectl is not on PATH';

const CRD_NAMES = ['meshinstallations', 'servicepolicies', 'trafficsplits'].map(
  (plural) => `crd/${plural}.mesh.meshwright.io`,
);

let h: Harness;
let kubeconfig: string;
let cacheDir: string;
const createdNamespaces: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with the admin kubeconfig and a private discovery cache; never throws on exit codes. */
const kubectl = (...args: string[]): Promise<Run> => kubectlWith(kubeconfig, ...args);

function kubectlWith(config: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      'kubectl',
      ['--kubeconfig', config, '--cache-dir', cacheDir, ...args],
      { cwd: ROOT, timeout: 30_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number')
          reject(new Error(`kubectl ${args.join(' ')}: ${error.message}`));
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

before(async () => {
  if (!hasKubectl) return;
  h = await connect(REAL ? {} : { tls: true });
  kubeconfig = REAL ? process.env.MESHWRIGHT_TEST_KUBECONFIG! : h.local!.kubeconfigPath;
  cacheDir = await mkdtemp(join(tmpdir(), 'meshwright-kubectl-cache-'));
});

after(async () => {
  if (!hasKubectl) return;
  await kubectl('delete', '-k', 'config/samples/', '--ignore-not-found', '--wait=false');
  for (const ns of createdNamespaces) await kubectl('delete', 'namespace', ns, '--wait=false');
  await h?.close();
  await rm(cacheDir, { recursive: true, force: true });
});

describe('kubectl', { skip: SKIP }, () => {
  it('applies crds/ and waits for the CRDs to be Established', async () => {
    const out = await ok('apply', '-f', 'crds/');
    for (const name of CRD_NAMES) assert.match(out, new RegExp(`${name.replace('crd/', '')}`));
    const waited = await ok('wait', '--for=condition=Established', '--timeout=30s', ...CRD_NAMES);
    assert.equal(waited.match(/condition met/g)?.length, CRD_NAMES.length, waited);
  });

  it('applies config/samples/ (kubectl apply -k) once their namespace exists', async () => {
    for (const ns of ['shop']) {
      const r = await kubectl('create', 'namespace', ns);
      if (r.code === 0) createdNamespaces.push(ns);
      else assert.match(r.stderr, /AlreadyExists/);
    }
    const out = await ok('apply', '-k', 'config/samples/');
    assert.match(out, /meshinstallation\.mesh\.meshwright\.io\/default (created|configured|unchanged)/);
    assert.match(out, /trafficsplit\.mesh\.meshwright\.io\/checkout (created|configured|unchanged)/);
    assert.match(out, /servicepolicy\.mesh\.meshwright\.io\/\S+ (created|configured|unchanged)/);
  });

  it('lists the meshwright category with each CRD’s printer columns (server-side Table)', async () => {
    const out = await ok('get', 'meshwright', '-A');
    const headers = out.split('\n').filter((l) => /^NAME|^NAMESPACE/.test(l));
    assert.equal(headers.length, 3, out);
    const columns = (kind: RegExp) =>
      headers
        .find((l) => kind.test(l))
        ?.trim()
        .split(/\s+/);
    assert.deepEqual(columns(/VERSION/), ['NAME', 'VERSION', 'READY', 'PROXIES', 'AGE']);
    assert.deepEqual(columns(/TARGET/), [
      'NAMESPACE',
      'NAME',
      'TARGET',
      'DEFAULT',
      'ENFORCEMENT',
      'READY',
      'AGE',
    ]);
    assert.deepEqual(columns(/PHASE/), ['NAMESPACE', 'NAME', 'PHASE', 'WEIGHT', 'STEP', 'AGE']);
    assert.match(out, /trafficsplit\.mesh\.meshwright\.io\/checkout/);
    // priority-1 columns only with -o wide
    const wide = await ok('get', 'trafficsplits', '-n', 'shop', '-o', 'wide');
    assert.deepEqual(wide.split('\n')[0]!.trim().split(/\s+/), [
      'NAME',
      'PHASE',
      'WEIGHT',
      'STEP',
      'FAILED',
      'AGE',
    ]);
    const tsplit = await ok('get', 'tsplit', '-n', 'shop', '-o', 'jsonpath={.items[*].metadata.name}');
    assert.equal(tsplit, 'checkout');
  });

  it('explains a CRD field from the published OpenAPI schema', async () => {
    const out = await ok('explain', 'trafficsplit.spec.strategy');
    assert.match(out, /KIND:\s+TrafficSplit/);
    assert.match(out, /FIELD:\s+strategy/);
    const steps = out.slice(out.search(/^\s+steps\s/m));
    assert.match(steps, /^\s+steps\s+<\[\]Object>/);
    // the description under `steps` is the CRD schema's
    assert.match(
      steps.split('\n').slice(1).join(' '),
      /The rollout, step by step \(as Argo Rollouts has it\)\./,
    );
  });

  it('describes a TrafficSplit', async () => {
    const out = await ok('describe', 'tsplit', 'checkout', '-n', 'shop');
    assert.match(out, /^Name:\s+checkout$/m);
    assert.match(out, /^Namespace:\s+shop$/m);
    assert.match(out, /^API Version:\s+mesh\.meshwright\.io\/v1alpha1$/m);
    assert.match(out, /^Kind:\s+TrafficSplit$/m);
    assert.match(out, /Set Weight:\s+5/);
  });

  it('applies server-side and records kubectl as a field manager', async () => {
    const out = await ok('apply', '--server-side', '-f', 'config/samples/trafficsplit.yaml');
    assert.match(out, /trafficsplit\.mesh\.meshwright\.io\/checkout serverside-applied/);
    const managers = await ok(
      'get',
      'tsplit',
      'checkout',
      '-n',
      'shop',
      '--show-managed-fields',
      '-o',
      'jsonpath={.metadata.managedFields[*].manager}',
    );
    assert.match(managers, /kubectl/);
  });

  it('deletes the samples', async () => {
    const out = await ok('delete', '-f', 'config/samples/trafficsplit.yaml');
    assert.match(out, /trafficsplit\.mesh\.meshwright\.io "checkout" deleted/);
    const gone = await kubectl('get', 'tsplit', 'checkout', '-n', 'shop');
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /trafficsplits\.mesh\.meshwright\.io "checkout" not found/);
  });

  it('refuses every test/fixtures/invalid/*.yaml with "<field>: <message>"', async () => {
    const fixtures = await invalidFixtures();
    assert.ok(fixtures.length > 0);
    const results = await Promise.all(
      fixtures.map(async (f) => ({ f, r: await kubectl('apply', '-f', `test/fixtures/invalid/${f.file}`) })),
    );
    for (const { f, r } of results) {
      assert.notEqual(r.code, 0, `${f.file} was accepted:\n${r.stdout}`);
      assert.ok(
        r.stderr.includes(`${f.field}: ${f.message}`),
        `${f.file}: stderr lacks "${f.field}: ${f.message}":\n${r.stderr}`,
      );
    }
  });
});

describe(
  'kubectl as a service account (local cluster)',
  {
    skip: SKIP || (REAL && 'the local cluster mints the service account token'),
  },
  () => {
    it('is refused with 403 until a RoleBinding allows it, and `auth can-i` agrees', async () => {
      const ns = await h.namespace();
      const sa = await h.local!.kubeconfigFor({ serviceAccount: { namespace: ns, name: 'operator' } });
      const user = `system:serviceaccount:${ns}:operator`;

      const whoami = await kubectlWith(sa, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}');
      assert.equal(whoami.stdout, user, whoami.stderr);

      const denied = await kubectlWith(sa, 'get', 'configmaps', '-n', ns);
      assert.notEqual(denied.code, 0);
      assert.match(
        denied.stderr,
        new RegExp(
          `Error from server \\(Forbidden\\): configmaps is forbidden: User "${user}" cannot list resource "configmaps" in API group "" in the namespace "${ns}"`,
        ),
      );
      const cannot = await kubectlWith(sa, 'auth', 'can-i', 'list', 'configmaps', '-n', ns);
      assert.equal(cannot.stdout.trim(), 'no');
      assert.equal(cannot.code, 1);

      await ok('create', 'role', 'cm-reader', '--verb=get,list,watch', '--resource=configmaps', '-n', ns);
      await ok(
        'create',
        'rolebinding',
        'cm-reader',
        '--role=cm-reader',
        `--serviceaccount=${ns}:operator`,
        '-n',
        ns,
      );

      const can = await kubectlWith(sa, 'auth', 'can-i', 'list', 'configmaps', '-n', ns);
      assert.equal(can.stdout.trim(), 'yes', can.stderr);
      assert.equal(
        (await kubectlWith(sa, 'auth', 'can-i', 'delete', 'configmaps', '-n', ns)).stdout.trim(),
        'no',
      );
      const listed = await kubectlWith(sa, 'get', 'configmaps', '-n', ns);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /kube-root-ca\.crt|^$/);
    });
  },
);
