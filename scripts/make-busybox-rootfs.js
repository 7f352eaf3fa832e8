// Builds a minimal runnable root filesystem from the host's static busybox, so images have a
// shell and an HTTP server without pulling anything from a registry.
// Usage: node scripts/make-busybox-rootfs.js DIR   (or import { makeBusyboxRootfs })
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const APPLETS = ['sh', 'ls', 'cat', 'echo', 'httpd', 'wget', 'sleep', 'kill', 'mkdir', 'env', 'ps', 'nc', 'test', 'grep', 'sed', 'printf', 'cp', 'rm', 'mv', 'awk', 'tar', 'dirname', 'pwd', 'true', 'false'];

/** The host's static busybox, or an Error saying how to install it. */
export function findBusybox() {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(candidate)) return candidate;
  throw new Error('no static busybox on this machine: install busybox-static (apt-get install -y busybox-static)');
}

/** Creates the root filesystem in `dir` (which must not exist or be empty). */
export async function makeBusyboxRootfs(dir) {
  const busybox = findBusybox();
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'srv', 'root', 'var', 'usr/bin']) mkdirSync(join(dir, d), { recursive: true });
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'srv', 'root', 'var', 'usr', 'usr/bin']) chmodSync(join(dir, d), 0o755);
  chmodSync(join(dir, 'tmp'), 0o1777);
  chmodSync(dir, 0o755);
  copyFileSync(busybox, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) {
    if (!existsSync(join(dir, 'bin', applet))) symlinkSync('busybox', join(dir, 'bin', applet));
  }
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n', { mode: 0o644 });
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n', { mode: 0o644 });
  chmodSync(join(dir, 'etc', 'passwd'), 0o644);
  chmodSync(join(dir, 'etc', 'group'), 0o644);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node scripts/make-busybox-rootfs.js DIR\n');
    process.exit(2);
  }
  await makeBusyboxRootfs(dir);
}
