import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A workspace for the concurrency tests: plain-directory services (no git, so many processes can
 * commit at once through `--from`) and recipes over them, with a scratch base.
 */
export async function raceWorkspace(
  services: string[],
  recipes: Record<string, string[]>,
): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bake-race-'));
  let yaml = 'services:\n';
  for (const name of services) {
    await mkdir(join(dir, 'services', name), { recursive: true });
    await writeFile(join(dir, 'services', name, 'VERSION'), `${name} initial\n`);
    yaml += `  ${name}:\n    source: services/${name}\n    install: /srv/${name}\n    run: /srv/${name}/run.sh\n`;
  }
  await writeFile(join(dir, 'bake.yaml'), yaml);
  await mkdir(join(dir, 'recipes'));
  for (const [image, members] of Object.entries(recipes)) {
    await writeFile(
      join(dir, 'recipes', `${image}.yaml`),
      `image: ${image}\nbake: heavy\nbase: scratch\nservices: [${members.join(', ')}]\n`,
    );
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
