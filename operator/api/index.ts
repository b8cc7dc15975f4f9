export * from './common.js';
export * from './duration.js';
export * from './versions.js';
export * from './meshinstallation.js';
export * from './servicepolicy.js';
export * from './trafficsplit.js';
export type { Kind, PrinterColumn } from './kind.js';

import { MeshInstallation } from './meshinstallation.js';
import { ServicePolicy } from './servicepolicy.js';
import { TrafficSplit } from './trafficsplit.js';

/** Every kind of the Meshwright API, in the order docs and generated files list them. */
export const KINDS = [MeshInstallation, ServicePolicy, TrafficSplit] as const;
