import { describe, expect, it } from 'vitest';
import { recordCandidates, type Candidate } from '../../src/commit/record-versions.js';
import { emptyManifest, type CommittedVersion, type VersionManifest } from '../../src/manifest/model.js';

const REV_A = 'a'.repeat(40);
const REV_B = 'b'.repeat(40);
const digest = (c: string) => `sha256:${c.repeat(64)}` as const;

function manifestWith(version: Partial<CommittedVersion> = {}): VersionManifest {
  const m = emptyManifest();
  m.generation = 7;
  m.services['a'] = {
    versions: [
      {
        version: 1,
        digest: digest('1'),
        layer: { digest: digest('0'), size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
        install: '/srv/a',
        source: 'git',
        revision: REV_A,
        author: 'One <one@x.invalid>',
        created: '2026-01-01T00:00:00Z',
        recordedAt: '2026-01-01T00:00:01Z',
        recordedBy: 'ci-one',
        generation: 1,
        ...version,
      },
    ],
  };
  return m;
}

function candidate(content: string, gate?: Candidate['gate']): Candidate {
  return {
    service: 'a',
    version: {
      digest: digest(content),
      layer: { digest: digest('0'), size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
      install: '/srv/a',
      source: 'git',
      revision: REV_B,
      created: '2026-01-02T00:00:00Z',
    },
    ...(gate && { gate }),
  };
}

const proved = (
  ancestry: 'descends' | 'behind' | 'diverged',
  after = 1,
  provedBy: 'here' | 'caller' | 'user' = 'here',
): Candidate['gate'] => ({
  proof: { after, ancestry },
  candidate: REV_B,
  provedBy,
});

// What the lock-holding step does with each candidate: a table of the gate's outcomes and writes.
const cases: {
  name: string;
  candidate: Candidate;
  lastAttempt?: boolean;
  outcome: string;
  kind?: string;
  write: boolean;
  recordedRefusal: boolean;
}[] = [
  {
    name: 'content equal to the latest is unchanged, whatever the proof',
    candidate: candidate('1', proved('behind')),
    outcome: 'unchanged',
    write: false,
    recordedRefusal: false,
  },
  {
    name: 'a descendant is recorded as the next version',
    candidate: candidate('2', proved('descends')),
    outcome: 'recorded',
    write: true,
    recordedRefusal: false,
  },
  {
    name: 'no gate (a directory without --after): by arrival',
    candidate: candidate('2'),
    outcome: 'recorded',
    write: true,
    recordedRefusal: false,
  },
  {
    name: 'behind is refused, and the refusal recorded',
    candidate: candidate('2', proved('behind')),
    outcome: 'refused',
    kind: 'behind',
    write: true,
    recordedRefusal: true,
  },
  {
    name: 'diverged is refused, and the refusal recorded',
    candidate: candidate('2', proved('diverged')),
    outcome: 'refused',
    kind: 'diverged',
    write: true,
    recordedRefusal: true,
  },
  {
    name: 'a proof made here against an older latest is made again',
    candidate: candidate('2', proved('descends', 0)),
    outcome: 'prove-again',
    write: false,
    recordedRefusal: false,
  },
  {
    name: '…until the last attempt, when moved is reported and recorded',
    candidate: candidate('2', proved('descends', 0)),
    lastAttempt: true,
    outcome: 'refused',
    kind: 'moved',
    write: true,
    recordedRefusal: true,
  },
  {
    name: "a remote caller's outdated proof is refused unrecorded (the caller proves again)",
    candidate: candidate('2', proved('descends', 0, 'caller')),
    outcome: 'refused',
    kind: 'moved',
    write: false,
    recordedRefusal: false,
  },
  {
    name: 'an explicit --after that no longer holds is refused and recorded',
    candidate: candidate('2', { proof: { after: 0 }, candidate: null, provedBy: 'user' }),
    outcome: 'refused',
    kind: 'moved',
    write: true,
    recordedRefusal: true,
  },
];

describe('recording candidates under the lock', () => {
  it.each(cases)('$name', (c) => {
    const manifest = manifestWith();
    const { results, write } = recordCandidates(manifest, [c.candidate], { actor: 'ci-two', lastAttempt: c.lastAttempt ?? false });
    const [result] = results;
    expect(result?.outcome).toBe(c.outcome);
    if (result?.outcome === 'refused')
      expect(result.refusal).toMatchObject({ kind: c.kind, service: 'a', recorded: { version: 1, revision: REV_A } });
    expect(write).toBe(c.write);
    const history = manifest.services['a'];
    expect(history?.refusals?.length ?? 0).toBe(c.recordedRefusal ? 1 : 0);
    if (c.recordedRefusal) expect(history?.refusals?.[0]).toMatchObject({ kind: c.kind, by: 'ci-two', version: 1, revision: REV_A });
    if (c.outcome === 'recorded') {
      expect(history?.versions.at(-1)).toMatchObject({ version: 2, revision: REV_B, recordedBy: 'ci-two', generation: 8 });
    } else expect(history?.versions).toHaveLength(1);
  });

  it('marks builds holding an older version stale in the same write', () => {
    const manifest = manifestWith();
    manifest.builds['shop'] = [{ id: 1, vector: { a: 1 }, status: 'current' } as never];
    recordCandidates(manifest, [candidate('2', proved('descends'))], { actor: 'ci-two', lastAttempt: false });
    expect(manifest.builds['shop']?.[0]).toMatchObject({ status: 'stale', supersededBy: [{ service: 'a', have: 1, latest: 2 }] });
  });
});
