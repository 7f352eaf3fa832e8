import { describe, expect, it } from 'vitest';
import { assertFollows, type HistoryProof } from '../../src/history/follows.js';
import { HistoryRefusedError } from '../../src/history/history-refusal.js';
import type { CommittedVersion } from '../../src/manifest/model.js';

const REV_A = 'a'.repeat(40);
const REV_B = 'b'.repeat(40);

function version(n: number, revision?: string): CommittedVersion {
  return {
    version: n,
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    layer: { digest: `sha256:${'0'.repeat(64)}`, size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
    install: '/srv/a',
    source: revision ? 'git' : 'directory',
    ...(revision && { revision, author: 'Team One <one@x.invalid>' }),
    created: '2026-01-02T00:00:00Z',
    recordedAt: '2026-01-02T00:00:01Z',
    recordedBy: 'ci@runner-1',
    generation: n,
  };
}

const cases: { name: string; latest?: CommittedVersion; candidate: string | null; proof: HistoryProof; refused?: string }[] = [
  { name: 'first version of a service', candidate: REV_A, proof: { after: 0 } },
  { name: 'a descendant of the latest', latest: version(2, REV_A), candidate: REV_B, proof: { after: 2, ancestry: 'descends' } },
  {
    name: 'an ancestor of the latest',
    latest: version(2, REV_A),
    candidate: REV_B,
    proof: { after: 2, ancestry: 'behind' },
    refused: 'behind',
  },
  {
    name: 'a checkout that never fetched the latest',
    latest: version(2, REV_A),
    candidate: REV_B,
    proof: { after: 2, ancestry: 'missing' },
    refused: 'behind',
  },
  {
    name: 'both sides changed the service',
    latest: version(2, REV_A),
    candidate: REV_B,
    proof: { after: 2, ancestry: 'diverged' },
    refused: 'diverged',
  },
  {
    name: 'proved against an older latest',
    latest: version(3, REV_A),
    candidate: REV_B,
    proof: { after: 2, ancestry: 'descends' },
    refused: 'moved',
  },
  { name: 'a git candidate with no proof', latest: version(2, REV_A), candidate: REV_B, proof: { after: 2 }, refused: 'behind' },
  { name: 'a directory after a directory, precondition holds', latest: version(4), candidate: null, proof: { after: 4 } },
  { name: 'a directory after a git version, precondition holds', latest: version(4, REV_A), candidate: null, proof: { after: 4 } },
  { name: 'a directory whose precondition no longer holds', latest: version(5), candidate: null, proof: { after: 4 }, refused: 'moved' },
];

describe('the history gate for one service', () => {
  for (const c of cases) {
    it(`${c.refused ? 'refuses' : 'accepts'} ${c.name}`, () => {
      const check = () => assertFollows('catalog', c.latest, c.candidate, c.proof);
      if (!c.refused) return expect(check).not.toThrow();
      try {
        check();
        expect.unreachable('should have been refused');
      } catch (error) {
        expect(error).toBeInstanceOf(HistoryRefusedError);
        const refusal = error as HistoryRefusedError;
        expect(refusal.kind).toBe(c.refused);
        expect(refusal.exitCode).toBe(3);
        expect(refusal.message).toContain('catalog');
        expect(refusal.message).toMatch(/Fix: /);
        if (c.latest?.revision) expect(refusal.message).toContain(c.latest.revision.slice(0, 12));
        if (c.latest?.author && c.refused !== 'moved') expect(refusal.message).toContain(c.latest.author);
      }
    });
  }
});
