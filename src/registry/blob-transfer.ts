import type { Readable } from 'node:stream';
import type { Digest } from '../util/digest.js';
import type { RegistryClient } from './registry-client.js';
import { RegistryError } from './registry-error.js';

/**
 * The distribution API's blob and manifest calls, for every caller that moves bytes to or from a
 * repository (`bake push`, the blob registry behind the store). Bodies stream: no blob is ever
 * held in memory whole.
 */

/** Bytes of one blob to send: its size, and a fresh stream of it on each call. */
export interface BlobBody {
  size: number;
  open(): Readable;
}

/** Whether the repository answers HEAD for the blob with 2xx. Throws RegistryError when no registry answers. */
export async function blobExists(client: RegistryClient, digest: Digest): Promise<boolean> {
  return (await client.request('HEAD', `/v2/${client.repository.name}/blobs/${digest}`)).ok;
}

/**
 * Uploads one blob monolithically (POST for a session, one streamed PUT with `?digest=`): the
 * registry verifies the digest itself and refuses a mismatch. Throws RegistryError.
 */
export async function uploadBlob(client: RegistryClient, digest: Digest, body: BlobBody): Promise<void> {
  const name = client.repository.name;
  const start = await client.request('POST', `/v2/${name}/blobs/uploads/`, { headers: { 'content-length': '0' } });
  if (start.status !== 202)
    throw new RegistryError(`cannot start an upload of ${digest}: HTTP ${start.status} ${await start.text()}`, start.status);
  const location = start.headers.get('location');
  if (!location) throw new RegistryError(`the registry gave no upload location for ${digest}`, start.status);
  const url = new URL(location, client.repository.baseUrl);
  url.searchParams.set('digest', digest);
  const put = await client.request('PUT', url.toString(), {
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.size) },
    body: body.open(),
  });
  if (put.status !== 201) throw new RegistryError(`upload of ${digest} failed: HTTP ${put.status} ${await put.text()}`, put.status);
}

/**
 * A blob's bytes as the registry sends them, or undefined when it has no such blob (404). The
 * bytes are not verified here: whoever stores them hashes them. Throws RegistryError on any other status.
 */
export async function downloadBlob(client: RegistryClient, digest: Digest): Promise<Readable | undefined> {
  const response = await client.stream(`/v2/${client.repository.name}/blobs/${digest}`);
  if (response.status === 404) {
    response.body.resume();
    return undefined;
  }
  if (!response.ok) {
    response.body.resume();
    throw new RegistryError(
      `${client.repository.registry} did not send blob ${digest} of ${client.repository.name}: HTTP ${response.status}`,
      response.status,
    );
  }
  return response.body;
}

/**
 * Puts an image manifest under `reference` (a tag, or its own digest) and checks the registry's
 * echo of its digest. Throws RegistryError when refused (a blob it names is missing, say) or when
 * the registry stored it under another digest.
 */
export async function putManifest(
  client: RegistryClient,
  reference: string,
  manifest: { digest: Digest; mediaType: string; bytes: Buffer | string },
): Promise<void> {
  const { registry, name } = client.repository;
  const put = await client.request('PUT', `/v2/${name}/manifests/${reference}`, {
    headers: { 'content-type': manifest.mediaType },
    body: manifest.bytes,
  });
  if (!put.ok) throw new RegistryError(`${registry} refused the manifest of ${name}: HTTP ${put.status} ${await put.text()}`, put.status);
  const echoed = put.headers.get('docker-content-digest');
  if (echoed && echoed !== manifest.digest) {
    throw new RegistryError(
      `${registry} stored the manifest as ${echoed}, not ${manifest.digest}; refusing to report a digest that differs from the store`,
      put.status,
    );
  }
}
