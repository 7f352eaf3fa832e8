import type { Layer } from '../layer/layer.js';
import type { ContainerConfig, HistoryEntry } from '../oci/image-config.js';

/** A resolved base: its layers (already in the store) and the runtime config it brings. */
export interface BaseImage {
  layers: Layer[];
  config: ContainerConfig;
  history: HistoryEntry[];
  /** Recorded with each build: `scratch`, `rootfs <layer digest>`, `oci <ref>@<manifest digest>`. */
  description: string;
  /** Manifest digest of an OCI base, for the base.digest annotation. */
  digest?: string;
}
