import { describe } from 'vitest';
import { requireTools } from '../helpers/require-tools.js';
import { revocationStory } from './revocation-story.js';
import { bakeIn, shopTeams } from './shop-teams.js';

const tools = requireTools('git');

// Locally, the manifest lives in the ops team's clone: the catalog team pushes to the central
// repository, ops pulls and records the new version.
describe.skipIf(tools.skip)('revoking a service version, locally', () => {
  revocationStory(async () => {
    const teams = await shopTeams();
    const env = { REVOKE_HOOK_OUT: teams.hookOut };
    return {
      teams,
      ops: (args, extra = {}) => bakeIn(teams.ops.dir, { ...env, ...extra })(args),
      async commitCatalog() {
        await teams.ops.pull();
        return bakeIn(teams.ops.dir, env)(['commit', 'catalog']);
      },
      cleanup: () => teams.cleanup(),
    };
  });
});
