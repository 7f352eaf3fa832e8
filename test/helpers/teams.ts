import { execa } from 'execa';
import { join } from 'node:path';
import { cloneRepo, gitEnv, tempDir, type Repo } from './repo.js';

/**
 * Several teams as they really work: one bare central repository and a clone per team, each its
 * own "machine". Teams pull, change, commit and push with plain git; nothing is shared but the
 * central repository (and, in service tests, the bake service).
 */
export interface Central {
  /** The bare repository's path: what `git clone` and `git push` talk to. */
  url: string;
  /** A clone for a team, with its own git identity. */
  clone(team: string): Promise<TeamClone>;
  cleanup(): Promise<void>;
}

export interface TeamClone extends Repo {
  team: string;
  /** `git pull --no-rebase` from the central repository; a conflict rejects. */
  pull(): Promise<void>;
  /** `git push` to the central repository; resolves false when it was rejected (behind). */
  push(): Promise<boolean>;
}

/** A bare central repository seeded from `seed` (a repository whose main branch is pushed once). */
export async function centralRepo(seed: Repo): Promise<Central> {
  const { dir, cleanup } = await tempDir('central');
  const url = join(dir, 'central.git');
  await execa('git', ['init', '-q', '--bare', '-b', 'main', url], { env: gitEnv() });
  await execa('git', ['push', '-q', url, 'HEAD:main'], { cwd: seed.dir, env: gitEnv() });
  const clones: Repo[] = [];
  return {
    url,
    async clone(team) {
      const repo = await cloneRepo(url);
      clones.push(repo);
      await repo.git('config', 'user.name', team);
      await repo.git('config', 'user.email', `${team}@teams.invalid`);
      return {
        ...repo,
        team,
        async pull() {
          await repo.git('pull', '-q', '--no-rebase', '--no-edit', 'origin', 'main');
        },
        async push() {
          const result = await execa('git', ['push', '-q', 'origin', 'HEAD:main'], { cwd: repo.dir, env: gitEnv(), reject: false });
          return result.exitCode === 0;
        },
      };
    },
    async cleanup() {
      await Promise.all(clones.map((c) => c.cleanup()));
      await cleanup();
    },
  };
}
