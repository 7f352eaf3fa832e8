import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { gitTreeId } from '../../src/source/git-tree-id.js';
import { readDirectoryTree } from '../../src/source/directory-source.js';
import { gitRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git');

describe.skipIf(tools.skip)('gitTreeId', () => {
  let repo: Repo;
  afterAll(() => repo?.cleanup());

  it('equals the id git gives the committed tree', async () => {
    repo = await gitRepo({
      'svc/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'svc/a.txt': 'a\n',
      'svc/a-b.txt': 'sorts between a.txt and a/\n',
      'svc/a/inner.txt': 'inner\n',
      'svc/link': { symlink: 'a.txt' },
    });
    // git records only 0644/0755: make the working tree say the same whatever the umask was.
    for (const file of ['a.txt', 'a-b.txt', 'a/inner.txt']) execFileSync('chmod', ['0644', `${repo.dir}/svc/${file}`]);
    const expected = execFileSync('git', ['rev-parse', 'HEAD:svc'], { cwd: repo.dir }).toString().trim();
    const entries = await readDirectoryTree(`${repo.dir}/svc`, { label: 'svc' });
    expect(await gitTreeId(entries)).toBe(expected);
  });
});
