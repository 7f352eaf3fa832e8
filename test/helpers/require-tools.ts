import { execFileSync } from 'node:child_process';

/**
 * Decides whether an integration test can run. In CI (CI=true) a missing tool is a failure, never
 * a skip: the test file throws. On a laptop it skips, loudly, naming what is missing.
 */
export function requireTools(...names: string[]): { skip: boolean; reason?: string } {
  const missing = names.filter((name) => !available(name));
  if (missing.length === 0) return { skip: false };
  const reason = `missing ${missing.join(', ')} (Debian: apt-get install -y ${missing.map(packageOf).join(' ')}${missing.includes('docker') ? '; then start dockerd' : ''})`;
  if (process.env['CI'] === 'true') throw new Error(`CI needs ${reason}`);
  console.warn(`\n*** SKIPPING integration tests: ${reason} ***\n`);
  return { skip: true, reason };
}

function available(name: string): boolean {
  try {
    if (name === 'docker') {
      execFileSync('/usr/bin/docker', ['info'], { stdio: 'ignore', timeout: 20_000 });
      return true;
    }
    if (name === 'busybox') return ['/bin/busybox', '/usr/bin/busybox'].some((p) => exists(p));
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    execFileSync('test', ['-x', path]);
    return true;
  } catch {
    return false;
  }
}

function packageOf(name: string): string {
  return { docker: 'docker.io', busybox: 'busybox-static', 'docker-registry': 'docker-registry' }[name] ?? name;
}
