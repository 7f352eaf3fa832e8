/** The parts of the OCI image config (and manifest) that bake reads and writes. */

export interface ContainerConfig {
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  config: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: { mediaType: string; digest: `sha256:${string}`; size: number };
  layers: { mediaType: string; digest: `sha256:${string}`; size: number }[];
  annotations?: Record<string, string>;
}

/** Merges environment lists: later entries replace earlier ones with the same name, order kept. */
export function mergeEnv(...lists: (readonly string[] | undefined)[]): string[] {
  const byName = new Map<string, string>();
  for (const list of lists) {
    for (const item of list ?? []) byName.set(item.split('=')[0] ?? item, item);
  }
  return [...byName.values()];
}
