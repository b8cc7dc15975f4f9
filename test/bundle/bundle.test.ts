/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any -- assertions over parsed YAML */
/**
 * The generated OperatorHub bundle and catalog pass the checks of `operator-sdk bundle validate
 * --select-optional suite=operatorframework` and `opm validate` (as `validate.ts` makes them), and
 * each check can fail: every counter-case mutates the generated bundle in one way and expects the
 * one message that names it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { OPERATOR_IMAGE, OPERATOR_VERSION } from '../../operator/generate/bundle.js';
import { loadBundle, loadCatalog, validateBundle, validateCatalog, type Bundle } from './validate.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, 'olm', 'bundle');
const CATALOG = join(ROOT, 'olm', 'catalog', 'meshwright', 'catalog.yaml');
const CSV_PATH = 'manifests/meshwright.clusterserviceversion.yaml';

type Obj = Record<string, any>;

const fresh = (): Bundle => loadBundle(BUNDLE);
const withCsv = (mutate: (csv: Obj) => void): Bundle => {
  const b = fresh();
  const csv = parse(b.get(CSV_PATH)!) as Obj;
  mutate(csv);
  b.set(CSV_PATH, stringify(csv));
  return b;
};
const annotations = (csv: Obj): Obj => csv.metadata.annotations;
const expectMessage = (messages: string[], pattern: RegExp) =>
  assert.ok(
    messages.some((m) => pattern.test(m)),
    `expected a message matching ${pattern}, got:\n  ${messages.join('\n  ') || '(none)'}`,
  );

describe('the generated bundle', () => {
  it('passes every check', () => {
    assert.deepEqual(validateBundle(fresh()), []);
  });

  it('uses the one operator image in the CSV deployment, containerImage and relatedImages', () => {
    const csv = parse(fresh().get(CSV_PATH)!) as Obj;
    assert.equal(annotations(csv).containerImage, OPERATOR_IMAGE);
    assert.equal(csv.spec.install.spec.deployments[0].spec.template.spec.containers[0].image, OPERATOR_IMAGE);
    assert.ok(csv.spec.relatedImages.some((r: Obj) => r.image === OPERATOR_IMAGE));
  });

  it('has the version of the package, whose image it runs', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const csv = parse(fresh().get(CSV_PATH)!) as Obj;
    assert.equal(csv.spec.version, pkg.version);
    assert.equal(OPERATOR_VERSION, pkg.version);
    assert.ok(OPERATOR_IMAGE.endsWith(`:v${pkg.version}`), OPERATOR_IMAGE);
  });
});

describe('the generated catalog', () => {
  it('passes opm validate', () => {
    assert.deepEqual(validateCatalog(loadCatalog(CATALOG)), []);
  });
});

/** One mutation per check, and the message it must produce. */
const BUNDLE_CASES: [string, () => Bundle, RegExp][] = [
  [
    'no metadata/',
    () => new Map([...fresh()].filter(([p]) => !p.startsWith('metadata/'))),
    /no metadata\/ directory/,
  ],
  [
    'a sub-directory in manifests/',
    () =>
      new Map([
        ...fresh(),
        ['manifests/extra/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'],
      ]),
    /must be flat/,
  ],
  [
    'a hidden file in manifests/',
    () =>
      new Map([...fresh(), ['manifests/.cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n']]),
    /hidden files/,
  ],
  [
    'a wrong mediatype annotation',
    () => {
      const b = fresh();
      b.set(
        'metadata/annotations.yaml',
        b.get('metadata/annotations.yaml')!.replace('registry+v1', 'plain+v0'),
      );
      return b;
    },
    /mediatype\.v1 must be "registry\+v1"/,
  ],
  [
    'no channels annotation',
    () => {
      const b = fresh();
      b.set(
        'metadata/annotations.yaml',
        b.get('metadata/annotations.yaml')!.replace(/.*channels\.v1.*\n/, ''),
      );
      return b;
    },
    /channels\.v1 is missing or empty/,
  ],
  [
    'two CSVs',
    () => new Map([...fresh(), ['manifests/copy.clusterserviceversion.yaml', fresh().get(CSV_PATH)!]]),
    /exactly one ClusterServiceVersion, found 2/,
  ],
  [
    'a kind not allowed',
    () =>
      new Map([
        ...fresh(),
        ['manifests/d.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: extra}\nspec: {}\n'],
      ]),
    /kind Deployment is not allowed/,
  ],
  [
    'a name that is not DNS-1123',
    () =>
      new Map([
        ...fresh(),
        ['manifests/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_Valid}\n'],
      ]),
    /"Not_Valid" is not a DNS-1123 subdomain/,
  ],
  [
    'a v1beta1 CRD',
    () => {
      const b = fresh();
      const p = 'manifests/servicepolicies.mesh.meshwright.io.yaml';
      b.set(p, b.get(p)!.replace('apiextensions.k8s.io/v1', 'apiextensions.k8s.io/v1beta1'));
      return b;
    },
    /must be apiextensions\.k8s\.io\/v1, is apiextensions\.k8s\.io\/v1beta1/,
  ],
  [
    'a CSV name without a version',
    () => withCsv((c) => (c.metadata.name = 'meshwright')),
    /must be <package>\.v<semver>/,
  ],
  [
    'a CSV name over 63 characters',
    () => withCsv((c) => (c.metadata.name = `meshwright-${'x'.repeat(60)}.v${c.spec.version}`)),
    /at most 63 characters/,
  ],
  [
    'a version that is not semver',
    () => withCsv((c) => (c.spec.version = '1.1')),
    /spec\.version "1\.1" is not semver/,
  ],
  ['no displayName', () => withCsv((c) => delete c.spec.displayName), /spec\.displayName is required/],
  ['no description', () => withCsv((c) => delete c.spec.description), /spec\.description is required/],
  ['no provider', () => withCsv((c) => delete c.spec.provider), /spec\.provider\.name is required/],
  ['no keywords', () => withCsv((c) => (c.spec.keywords = [])), /spec\.keywords/],
  ['no maturity', () => withCsv((c) => delete c.spec.maturity), /spec\.maturity is required/],
  [
    'a maintainer email that is not one',
    () => withCsv((c) => (c.spec.maintainers[0].email = 'maintainers-at-meshwright')),
    /maintainer email "maintainers-at-meshwright" is not valid/,
  ],
  [
    'a link that is no URL',
    () => withCsv((c) => (c.spec.links[0].url = 'not a url')),
    /link url "not a url" is not a valid URL/,
  ],
  ['two icons', () => withCsv((c) => c.spec.icon.push(c.spec.icon[0])), /exactly one icon, holds 2/],
  [
    'an icon of another media type',
    () => withCsv((c) => (c.spec.icon[0].mediatype = 'image/bmp')),
    /icon mediatype "image\/bmp"/,
  ],
  [
    'icon data that is not base64',
    () => withCsv((c) => (c.spec.icon[0].base64data = '<svg/>')),
    /base64data is not base64/,
  ],
  [
    'minKubeVersion not semver',
    () => withCsv((c) => (c.spec.minKubeVersion = '1.30')),
    /minKubeVersion 1\.30 is not semver/,
  ],
  ['no minKubeVersion', () => withCsv((c) => delete c.spec.minKubeVersion), /minKubeVersion is required/],
  [
    'a capability level that does not exist',
    () => withCsv((c) => (annotations(c).capabilities = 'Full Auto')),
    /capabilities "Full Auto" is not one of/,
  ],
  [
    'a category that is not standard',
    () => withCsv((c) => (annotations(c).categories = 'Networking, Mesh')),
    /category "Mesh" is not a standard category/,
  ],
  [
    'no containerImage',
    () => withCsv((c) => delete annotations(c).containerImage),
    /containerImage is required/,
  ],
  ['no createdAt', () => withCsv((c) => delete annotations(c).createdAt), /createdAt is required/],
  ['no repository', () => withCsv((c) => delete annotations(c).repository), /repository is required/],
  ['no support', () => withCsv((c) => delete annotations(c).support), /support is required/],
  [
    'olm.skipRange miscased',
    () => withCsv((c) => (annotations(c)['olm.skiprange'] = '<1.1.0')),
    /must be spelled olm\.skipRange/,
  ],
  [
    'alm-examples not JSON',
    () => withCsv((c) => (annotations(c)['alm-examples'] = '[{')),
    /alm-examples is not valid JSON/,
  ],
  [
    'an alm-example of a kind not owned',
    () =>
      withCsv((c) => {
        const ex = JSON.parse(annotations(c)['alm-examples']) as Obj[];
        ex.push({ apiVersion: 'other.io/v1', kind: 'Other', metadata: { name: 'x' } });
        annotations(c)['alm-examples'] = JSON.stringify(ex);
      }),
    /alm-examples: other\.io\/v1\/Other is not an owned CRD/,
  ],
  [
    'an owned CRD without an example',
    () =>
      withCsv((c) => {
        const ex = (JSON.parse(annotations(c)['alm-examples']) as Obj[]).filter(
          (e) => e.kind !== 'TrafficSplit',
        );
        annotations(c)['alm-examples'] = JSON.stringify(ex);
      }),
    /owned CRD mesh\.meshwright\.io\/v1alpha1\/TrafficSplit has no alm-example/,
  ],
  [
    'no supported install mode',
    () => withCsv((c) => c.spec.installModes.forEach((m: Obj) => (m.supported = false))),
    /no install mode is supported/,
  ],
  [
    'an owned CRD missing from the bundle',
    () => new Map([...fresh()].filter(([p]) => !p.includes('trafficsplits'))),
    /owned CRD mesh\.meshwright\.io\/v1alpha1\/TrafficSplit .* is not in the bundle/,
  ],
  [
    'a CRD in the bundle that is not owned',
    () => withCsv((c) => c.spec.customresourcedefinitions.owned.pop()),
    /CRD mesh\.meshwright\.io\/v1alpha1\/TrafficSplit is in the bundle but not owned/,
  ],
  [
    'an owned CRD without description',
    () => withCsv((c) => delete c.spec.customresourcedefinitions.owned[0].description),
    /owned CRD meshinstallations\.mesh\.meshwright\.io has no description/,
  ],
  [
    'an owned CRD without resources',
    () => withCsv((c) => (c.spec.customresourcedefinitions.owned[1].resources = [])),
    /servicepolicies\.mesh\.meshwright\.io lists no resources/,
  ],
  [
    'a top-level spec field without a descriptor',
    () => withCsv((c) => c.spec.customresourcedefinitions.owned[2].specDescriptors.shift()),
    /trafficsplits\.mesh\.meshwright\.io has no specDescriptor for targetRef/,
  ],
  [
    'a top-level status field without a descriptor',
    () =>
      withCsv((c) => {
        const o = c.spec.customresourcedefinitions.owned[0];
        o.statusDescriptors = o.statusDescriptors.filter((d: Obj) => d.path !== 'conditions');
      }),
    /has no statusDescriptor for conditions/,
  ],
  [
    'a strategy other than deployment',
    () => withCsv((c) => (c.spec.install.strategy = 'helm')),
    /strategy must be deployment/,
  ],
  ['no deployment', () => withCsv((c) => (c.spec.install.spec.deployments = [])), /at least one deployment/],
  [
    'a container without resource requests',
    () =>
      withCsv((c) => delete c.spec.install.spec.deployments[0].spec.template.spec.containers[0].resources),
    /container manager of deployment meshwright-operator has no cpu and memory requests/,
  ],
  [
    'RBAC that creates CRDs',
    () =>
      withCsv((c) =>
        c.spec.install.spec.clusterPermissions[0].rules.push({
          apiGroups: ['apiextensions.k8s.io'],
          resources: ['customresourcedefinitions'],
          verbs: ['create'],
        }),
      ),
    /may create or patch CRDs/,
  ],
  [
    'a related image that is not a reference',
    () => withCsv((c) => c.spec.relatedImages.push({ name: 'x', image: 'Not An Image' })),
    /relatedImages: "Not An Image" is not a valid image reference/,
  ],
  [
    'a removed API',
    () =>
      new Map([
        ...fresh(),
        [
          'manifests/pdb.yaml',
          'apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: pdb}\nspec: {minAvailable: 1}\n',
        ],
      ]),
    /uses policy\/v1beta1, removed in Kubernetes 1\.25/,
  ],
  [
    'a webhook without sideEffects',
    () =>
      withCsv(
        (c) =>
          (c.spec.webhookdefinitions = [
            { generateName: 'inject.meshwright.io', admissionReviewVersions: ['v1'] },
          ]),
      ),
    /webhook inject\.meshwright\.io has no sideEffects/,
  ],
  [
    'a bundle over 1 MiB compressed',
    () => {
      const noise = randomBytes(1_200_000).toString('base64'); // incompressible
      return new Map([
        ...fresh(),
        [
          'manifests/big.yaml',
          `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {x: "${noise}"}\n`,
        ],
      ]);
    },
    /more than the 1 MiB limit/,
  ],
];

describe('bundle counter-cases: each check fails with its message', () => {
  for (const [name, make, pattern] of BUNDLE_CASES)
    it(name, () => expectMessage(validateBundle(make()), pattern));
});

const catalogWith = (mutate: (docs: Obj[]) => void): Obj[] => {
  const docs = loadCatalog(CATALOG) as Obj[];
  mutate(docs);
  return docs;
};
const find = (docs: Obj[], schema: string) => docs.find((d) => d.schema === schema)!;

const CATALOG_CASES: [string, () => Obj[], RegExp][] = [
  [
    'no olm.package',
    () => catalogWith((d) => d.splice(d.indexOf(find(d, 'olm.package')), 1)),
    /exactly one olm\.package, holds 0/,
  ],
  [
    'a default channel that does not exist',
    () => catalogWith((d) => (find(d, 'olm.package').defaultChannel = 'fast')),
    /default channel "fast" of package meshwright does not exist/,
  ],
  [
    'two heads in a channel',
    () =>
      catalogWith((d) => {
        find(d, 'olm.channel').entries.push({ name: 'meshwright.v1.0.0' });
        d.push({ ...find(d, 'olm.bundle'), name: 'meshwright.v1.0.0' });
      }),
    /must have exactly one head, has 2/,
  ],
  [
    'a cycle in replaces',
    () =>
      catalogWith((d) => {
        const ch = find(d, 'olm.channel');
        ch.entries = [
          { name: 'meshwright.v1.1.0', replaces: 'meshwright.v1.0.0' },
          { name: 'meshwright.v1.0.0', replaces: 'meshwright.v1.1.0' },
        ];
        d.push({ ...find(d, 'olm.bundle'), name: 'meshwright.v1.0.0' });
      }),
    /has a cycle/,
  ],
  [
    'a bundle without an image',
    () => catalogWith((d) => delete find(d, 'olm.bundle').image),
    /olm\.bundle meshwright\.v1\.1\.0 has no image/,
  ],
  [
    'a bundle with two olm.package properties',
    () =>
      catalogWith((d) => {
        const b = find(d, 'olm.bundle');
        b.properties.push(b.properties[0]);
      }),
    /exactly one olm\.package property, has 2/,
  ],
  [
    'a stranded bundle',
    () => catalogWith((d) => d.push({ ...find(d, 'olm.bundle'), name: 'meshwright.v0.9.0' })),
    /meshwright\.v0\.9\.0 is stranded/,
  ],
  [
    'an empty channel',
    () => catalogWith((d) => (find(d, 'olm.channel').entries = [])),
    /channel stable has no entries/,
  ],
];

describe('catalog counter-cases: each check fails with its message', () => {
  for (const [name, make, pattern] of CATALOG_CASES)
    it(name, () => expectMessage(validateCatalog(make()), pattern));
});
