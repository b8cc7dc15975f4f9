/**
 * `mesh.yaml`: the mesh configuration the operator writes into the control plane's ConfigMap
 * (`meshConfigData` in operator/meshinstallation/desired.ts is the writer) and the control plane
 * reads at start and on every change. The enums, durations and quantities are the MeshInstallation
 * API's own schemas, so the reader refuses exactly what the API would.
 *
 * Unknown keys are ignored, not refused: the operator and the control plane are upgraded apart
 * (the operator first), so a newer operator may write a key an older control plane does not know
 * yet, and that must not take the control plane down. A key the reader needs that is missing or of
 * the wrong type is an error that names it.
 */
import { z } from 'zod';
import { parse } from 'yaml';
import { duration, labelSelector, logLevel, quantity } from '../api/common.js';
import { meshInstallationSpec } from '../api/meshinstallation.js';
import type { MeshSettings } from './xds/snapshot.js';

// The spec's enums, taken from the API schema itself (each is wrapped in its `.default()`).
const spec = meshInstallationSpec.shape;
const dataPlaneSpec = spec.dataPlane.unwrap().shape;
const mtlsSpec = spec.mtls.unwrap().shape;
const observabilitySpec = spec.observability.unwrap().shape;

const port = z.int().min(1).max(65535);
/** `host:port` (an IPv6 host in brackets): what a proxy dials. */
const address = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}$/, 'must be host:port');
const name = z.string().min(1);
const resources = z.object({
  requests: z.record(z.string(), quantity).optional(),
  limits: z.record(z.string(), quantity).optional(),
});

export const meshConfigSchema = z.object({
  installation: name,
  /** The mesh version: the proxy-version label of every pod the injector meshes. */
  meshVersion: name,
  trustDomain: name,
  controlPlane: z.object({
    namespace: name,
    service: name,
    /** xDS over mutual TLS (the serving certificate): what Envoy sidecars dial. */
    xdsAddress: address,
    /**
     * xDS without TLS, for proxyless gRPC: `@grpc/grpc-js-xds` can only reach its xDS server with
     * `insecure` or `google_default` channel credentials.
     */
    xdsPlaintextAddress: address,
    /** The control plane's own image, which also runs the sidecar's `capture` init container. */
    image: name,
    ports: z.object({ xds: port, xdsPlaintext: port, webhook: port, metrics: port, health: port }),
  }),
  mtls: z.object({
    mode: mtlsSpec.mode.unwrap(),
    keyAlgorithm: mtlsSpec.keyAlgorithm.unwrap(),
    workloadCertificate: z.object({
      duration: duration('Workload certificate lifetime'),
      renewBefore: duration('Workload certificate renewal'),
    }),
    issuerRef: z.object({ name, kind: name, group: name }),
  }),
  dataPlane: z.object({
    mode: dataPlaneSpec.mode.unwrap(),
    defaultInboundPolicy: dataPlaneSpec.defaultInboundPolicy.unwrap(),
    /**
     * The member namespaces (the injection webhook's selector). Optional until the operator writes
     * it; without it every namespace counts as a member.
     */
    namespaceSelector: labelSelector('The member namespaces').optional(),
    proxy: z.object({ image: name, logLevel, resources }),
  }),
  observability: z.object({
    metrics: z.object({ enabled: z.boolean(), port, scrapeAnnotations: z.boolean() }),
    accessLogs: z.object({
      enabled: z.boolean(),
      format: observabilitySpec.accessLogs.unwrap().shape.format.unwrap(),
    }),
    tracing: z.object({
      enabled: z.boolean(),
      collectorAddress: address.optional(),
      samplingPercentage: z.number().min(0).max(100),
    }),
  }),
});

export type MeshConfig = z.output<typeof meshConfigSchema>;

/** `mesh.yaml` is not YAML, or not a mesh configuration; the message names the field. */
export class MeshConfigError extends Error {
  override readonly name = 'MeshConfigError';
}

/** Parses the text of `mesh.yaml`; throws MeshConfigError naming every bad field. */
export function parseMeshConfig(text: string): MeshConfig {
  let data: unknown;
  try {
    data = parse(text);
  } catch (e) {
    throw new MeshConfigError(`mesh.yaml is not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  const result = meshConfigSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  throw new MeshConfigError(`mesh.yaml: ${problems.join('; ')}`);
}

/** The part of the mesh configuration the xDS builders read. */
export function meshSettings(config: MeshConfig): MeshSettings {
  return {
    trustDomain: config.trustDomain,
    mtlsMode: config.mtls.mode,
    defaultInboundPolicy: config.dataPlane.defaultInboundPolicy,
  };
}
