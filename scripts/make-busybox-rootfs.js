// Builds a minimal runnable root filesystem from the host's static busybox, so images have a
// shell and an HTTP server without pulling anything from a registry (none is reachable here).
// Usage: node scripts/make-busybox-rootfs.js DIR   (or import { makeBusyboxRootfs })
// The content is deterministic: the same busybox binary gives the same files, modes and links;
// timestamps are left to the layer writer, which sets every tar header field itself.
import { chmod, copyFile, lstat, mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const INSTALL_HINT = 'install busybox-static (apt-get install -y busybox-static)';

/** Applets linked as bin/<name> -> busybox: what the fixture services, entrypoint and agent use. */
export const APPLETS = Object.freeze([
  'awk',
  'basename',
  'cat',
  'chmod',
  'cp',
  'cut',
  'date',
  'dirname',
  'echo',
  'env',
  'false',
  'grep',
  'head',
  'httpd',
  'id',
  'kill',
  'ln',
  'ls',
  'mkdir',
  'mv',
  'nc',
  'printf',
  'ps',
  'pwd',
  'rm',
  'sed',
  'sh',
  'sleep',
  'sort',
  'tail',
  'tar',
  'test',
  'touch',
  'tr',
  'true',
  'uname',
  'wget',
]);

const DIRECTORIES = ['bin', 'dev', 'etc', 'proc', 'root', 'srv', 'sys', 'tmp', 'usr', 'usr/bin', 'var'];
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';

/**
 * The host's busybox, which must be statically linked (a dynamic one would not run inside an
 * image that has no libc). Throws an Error saying how to install busybox-static otherwise.
 */
export function findBusybox() {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(candidate)) return candidate;
  throw new Error(`no busybox on this machine: ${INSTALL_HINT}`);
}

/**
 * Creates the root filesystem in `dir` (created if missing; an existing applet link or file is
 * kept, bin/busybox and etc/{passwd,group} are rewritten). Throws when the host has no static busybox.
 */
export async function makeBusyboxRootfs(dir) {
  const busybox = findBusybox();
  if (await isDynamicElf(busybox)) throw new Error(`${busybox} is dynamically linked and cannot run in a bare image: ${INSTALL_HINT}`);
  for (const d of DIRECTORIES) {
    await mkdir(join(dir, d), { recursive: true });
    await chmod(join(dir, d), 0o755);
  }
  await chmod(dir, 0o755);
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(busybox, join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) await linkApplet(join(dir, 'bin', applet));
  for (const [name, content] of [
    ['passwd', PASSWD],
    ['group', GROUP],
  ]) {
    await writeFile(join(dir, 'etc', name), content);
    await chmod(join(dir, 'etc', name), 0o644);
  }
}

async function linkApplet(path) {
  // Running twice is harmless; a file someone put there on purpose wins.
  if (await lstat(path).catch(() => undefined)) return;
  await symlink('busybox', path);
}

/** True when the ELF file at `path` asks for a program interpreter (PT_INTERP), i.e. is dynamic. */
async function isDynamicElf(path) {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46) return false; // not ELF: let it fail later, visibly
    const is64 = header[4] === 2;
    const le = header[5] === 1;
    const u16 = (b, o) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b, o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64 ? Number(le ? header.readBigUInt64LE(32) : header.readBigUInt64BE(32)) : u32(header, 28);
    const phentsize = u16(header, is64 ? 54 : 42);
    const phnum = u16(header, is64 ? 56 : 44);
    const table = Buffer.alloc(phentsize * phnum);
    await file.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) if (u32(table, i * phentsize) === 3) return true; // PT_INTERP
    return false;
  } finally {
    await file.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node scripts/make-busybox-rootfs.js DIR\n');
    process.exit(2);
  }
  try {
    await makeBusyboxRootfs(dir);
  } catch (error) {
    process.stderr.write(`make-busybox-rootfs: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
