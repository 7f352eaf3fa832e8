import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pack } from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/require-tools.js';
import { MODES, teams, type Team, type Teams } from './setup.js';

const tools = requireTools('git');
const exec = promisify(execFile);

/** A one-file root filesystem as a tar archive. */
async function baseTar(): Promise<Buffer> {
  const p = pack();
  p.entry({ name: 'etc/motd', mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, 'hello\n');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * A recipe whose base is an OCI layout in the workspace whose manifest blob is a named pipe: the
 * bake blocks reading it after it resolved its vector and before it records, so a test can land a
 * commit exactly in between. `feed` waits for the bake to open the pipe, runs `during`, then
 * writes the manifest and lets the bake go on.
 */
async function gatedRecipe(
  world: Teams,
  team: Team,
): Promise<{ feed: (during: () => Promise<void>, bake: Promise<unknown>) => Promise<void> }> {
  // The recipe is read, and its base resolved, where the bake runs: the team's checkout or the service's workspace.
  const ws = world.mode === 'local' ? team.dir : world.stateDir;
  const layout = join(ws, 'base-oci');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const layer = await baseTar();
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, config: {} }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  for (const blob of [layer, config]) await writeFile(join(blobs, sha256(blob).slice(7)), blob);
  const fifo = join(blobs, sha256(manifest).slice(7));
  await exec('mkfifo', [fifo]);
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const ref = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length };
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...ref, annotations: { 'org.opencontainers.image.ref.name': 'base' } }] }),
  );
  await writeFile(join(ws, 'recipes', 'gated.yaml'), 'image: gated\nbake: heavy\nbase: {oci: base-oci, ref: base}\nservices: [a, b]\n');
  return {
    async feed(during, bake) {
      let ended = false;
      void bake.finally(() => (ended = true));
      const pipe = await writer(fifo, () => ended); // once the bake opened it: its vector is resolved
      await during();
      await pipe.write(manifest);
      await pipe.close();
    },
  };
}

/** Opens the pipe for writing as soon as a reader has it open (a non-blocking open fails until then). */
async function writer(fifo: string, ended: () => boolean): Promise<FileHandle> {
  for (;;) {
    try {
      return await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
      if (ended()) throw new Error('the bake ended without reading its base');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

describe.skipIf(tools.skip).each(MODES)('a build that ends stale fails loudly (%s)', (mode) => {
  let world: Teams;
  afterEach(() => world?.cleanup());

  it('exits 3 with kind stale and the reason; --allow-stale records the override and exits 0', async () => {
    world = await teams(mode);
    const one = await world.team('team1');
    const two = await world.team('team2');
    expect((await one.bake(['commit', '--all'])).exitCode).toBe(0);
    const gate = await gatedRecipe(world, one);
    let n = 2;
    const commitMeanwhile = async () => {
      await two.change({ 'services/b/VERSION': `b ${n++}\n` });
      const run = await two.bake(['commit', 'b']);
      expect(run.exitCode, run.stderr).toBe(0);
    };

    const first = one.bake(['build', 'gated', '--max-rebakes', '0']);
    const [stale] = await Promise.all([
      first,
      gate.feed(commitMeanwhile, first).catch(async (e) => Promise.reject(new Error(`${e}: ${(await first).stdout}`))),
    ]);
    expect(stale.exitCode, stale.stderr).toBe(3);
    expect(stale.json.error).toMatchObject({
      kind: 'stale',
      image: 'gated',
      service: 'b',
      have: 1,
      want: 2,
      committedBy: 'team2 <team2@teams.invalid>',
      supersededBy: [{ service: 'b', have: 1, latest: 2 }],
    });
    expect(stale.json.error.message).toMatch(/gated:1 is stale .* b v1, but b v2 was committed by team2/);
    expect(stale.json.error.builds[0]).toMatchObject({ image: 'gated', build: 1, stale: true });
    const recorded = (await world.manifest()).builds['gated']?.[0];
    expect(recorded).toMatchObject({ id: 1, status: 'stale' });
    expect(recorded?.overrides).toBeUndefined();

    const second = one.bake(['build', 'gated', '--max-rebakes', '0', '--allow-stale']);
    const [kept] = await Promise.all([second, gate.feed(commitMeanwhile, second)]);
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(kept.json.builds[0]).toMatchObject({
      build: 2,
      stale: true,
      overrides: [{ kind: 'stale', service: 'b', have: 2, want: 3, flag: '--allow-stale', by: 'ci-team1' }],
    });
    expect((await world.manifest()).builds['gated']?.[1]?.overrides).toEqual(kept.json.builds[0].overrides);
  });
});
