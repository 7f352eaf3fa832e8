// `npm run example`: the main job on the embedded default (an OCI image layout, no Docker).
// Makes example/ from fixtures/shop as a fresh git repository, commits its three services and
// bakes recipes/shop.yaml into example/.bake/store; then shows what a peer tool sees.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBusybox, makeBusyboxRootfs } from './make-busybox-rootfs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const example = join(root, 'example');
const run = (file, args, options = {}) => execFileSync(file, args, { cwd: example, stdio: 'inherit', ...options });

rmSync(example, { recursive: true, force: true });
cpSync(join(root, 'fixtures', 'shop'), example, { recursive: true, verbatimSymlinks: true });
let runnable = true;
try {
  findBusybox();
  await makeBusyboxRootfs(join(example, 'base', 'busybox'));
} catch (error) {
  // Without busybox the bake still works; the image just has no shell to run.
  runnable = false;
  process.stderr.write(`example: ${error.message}\nexample: baking on scratch instead; the image will not be runnable\n`);
  writeFileSync(join(example, 'recipes', 'shop.yaml'), 'image: shop\nbake: heavy\nbase: scratch\nservices: [catalog, cart, web]\n');
}
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Example Shop',
  GIT_AUTHOR_EMAIL: 'shop@example.invalid',
  GIT_COMMITTER_NAME: 'Example Shop',
  GIT_COMMITTER_EMAIL: 'shop@example.invalid',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
};
run('git', ['init', '-q', '-b', 'main']);
run('git', ['add', '-A']);
run('git', ['commit', '-q', '-m', 'The example shop'], { env: gitEnv });

const bake = [join(root, 'bin', 'bake.js')];
run(process.execPath, [...bake, 'commit', '--all']);
run(process.execPath, [...bake, 'build', 'shop']);
run(process.execPath, [...bake, 'status']);
process.stdout.write(`\nThe image is in ${join(example, '.bake', 'store')} (an OCI image layout), ref shop:1.\n`);
if (existsSync('/usr/bin/skopeo')) {
  process.stdout.write('skopeo sees it as:\n');
  run('skopeo', ['inspect', '--format', '{{.Digest}} {{.Layers}}', 'oci:.bake/store:shop:1']);
}
if (runnable)
  process.stdout.write(
    'Run it with Docker: skopeo copy oci:example/.bake/store:shop:1 docker-daemon:shop:1 && docker run --rm -p 127.0.0.1:8080:8080 shop:1\n',
  );
