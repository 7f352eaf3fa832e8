import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/require-tools.js';
import type { TeamClone } from '../helpers/teams.js';
import { revocationStory } from './revocation-story.js';
import { bakeIn, READ_TOKEN, serveWorkspace, shopTeams, WRITE_TOKEN } from './shop-teams.js';

const tools = requireTools('git');

// Through `bake serve`: the service owns the manifest in the ops clone; the teams run bake from
// clones of their own as clients (a CI clone for ops, the catalog team's for its commits, which
// upload the committed tree). The hook runs on the service's host.
describe.skipIf(tools.skip)('revoking a service version, through bake serve', () => {
  let ci: TeamClone | undefined;
  let client: Record<string, string> = {};
  revocationStory(async () => {
    const teams = await shopTeams();
    const service = await serveWorkspace(teams.ops.dir, { REVOKE_HOOK_OUT: teams.hookOut });
    client = { BAKE_SERVICE: service.url, BAKE_SERVICE_TOKEN: WRITE_TOKEN };
    const runner = await teams.central.clone('ci');
    ci = runner;
    return {
      teams,
      ops: (args, extra = {}) => bakeIn(runner.dir, { ...client, ...extra })(args),
      commitCatalog: () => bakeIn(teams.catalog.dir, client)(['commit', 'catalog']),
      async cleanup() {
        await service.stop();
        await teams.cleanup();
      },
    };
  });

  it("kept every record at the service: nothing was written in the clients' checkouts", () => {
    expect(ci && existsSync(join(ci.dir, '.bake'))).toBe(false);
  });

  it('needs a write token to revoke; a read token may check', async () => {
    if (!ci) throw new Error('no CI clone');
    const read = bakeIn(ci.dir, { ...client, BAKE_SERVICE_TOKEN: READ_TOKEN });
    const refused = await read(['revoke', 'cart', '1', '--reason', 'read tokens cannot do this']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/needs a write token/);
    const check = await read(['status', '--check']);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.json.revoked.versions.map((v: { service: string }) => v.service)).toEqual(['catalog']);
  });
});
