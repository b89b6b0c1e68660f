// The expectations that compare groups and count waste: `expect.faster` (one group's median
// download at least a share sooner than another's), `expect.maxDuplicateBytes` (a share of the
// payload or a size) and `expect.firstCopy` — parsed (sim/scenario/schema.ts), written back
// (write.ts) and judged (run.ts), each with a failing and a passing case.

import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenarioText, ScenarioFileError } from '../sim/scenario/load.ts';
import { judgeDuplicates, judgeFaster, judgeFirstCopy, type JudgedPeer } from '../sim/scenario/run.ts';
import { FirstCopyWatch } from '../sim/scenario/first-copy.ts';
import { scenarioToYaml } from '../sim/scenario/write.ts';
import type { Scenario } from '../sim/scenario/types.ts';

const file = (expect: string) => `name: g
torrent: { size: 1MiB }
groups:
  - { name: S, role: seed }
  - { name: L, count: 3 }
  - { name: F, count: 3, behaviour: free-rider }
expect: ${expect}
`;

function problems(text: string): string {
  try {
    parseScenarioText(text, 'scenarios/bad.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioFileError);
    return (e as ScenarioFileError).message;
  }
  throw new Error('expected the text to be rejected');
}

const scenarioOf = (expect: string): Scenario => loadScenario(parseScenarioText(file(expect)), '1');

/** Peers of groups L and F with these download times (ms from joining; undefined: never completed). */
function peers(times: Record<string, (number | undefined)[]>, duplicates: number[] = []): JudgedPeer[] {
  const out: JudgedPeer[] = [];
  let n = 0;
  for (const [group, list] of Object.entries(times)) {
    list.forEach((t, i) => {
      out.push({
        label: `${group}${i}`,
        role: 'leecher',
        behaviour: 'honest',
        group: { prefix: group },
        down: false,
        joinedAt: 1_000,
        completedAt: t === undefined ? undefined : 1_000 + t,
        client: { pieces: { have: { has: () => true, size: 4 } }, duplicateBytes: duplicates[n++] ?? 0 },
      });
    });
  }
  return out;
}

describe('expect.faster', () => {
  it('parses a share as 20% or 0.2, and writes it back as 20%', () => {
    const s = scenarioOf('{ faster: [{ group: L, than: F, by: 20% }] }');
    expect(s.expect.faster).toEqual([{ group: 'L', than: 'F', by: 0.2 }]);
    expect(scenarioOf('{ faster: [{ group: L, than: F, by: 0.2 }] }').expect.faster).toEqual(s.expect.faster);
    const again = loadScenario(parseScenarioText(scenarioToYaml(s)), '1');
    expect(again.expect).toEqual(s.expect);
    expect(scenarioToYaml(s)).toContain('by: 20%');
  });

  it('names an unknown group, the same group twice, and a bad share, with their paths', () => {
    expect(problems(file('{ faster: [{ group: L, than: X, by: 20% }] }'))).toMatch(/expect\.faster\[0\]\.than.*no group is called "X"; the groups are S, L, F/s);
    expect(problems(file('{ faster: [{ group: L, than: L, by: 20% }] }'))).toMatch(/expect\.faster\[0\]\.than.*two different groups/s);
    expect(problems(file('{ faster: [{ group: L, than: F, by: 120% }] }'))).toMatch(/expect\.faster\[0\]\.by.*a share such as 20% or 0\.2.*"120%"/s);
    expect(problems(file('{ faster: [{ group: L, than: F }] }'))).toMatch(/expect\.faster\[0\]\.by/);
    expect(problems(file('{ faster: [{ group: L, than: F, by: 20%, extra: 1 }] }'))).toMatch(/expect\.faster\[0\]\.extra: unknown key \(the keys here are group, than, by\)/);
  });

  it('judges the medians of download time: fails when A is not enough sooner, passes when it is', () => {
    const s = scenarioOf('{ faster: [{ group: L, than: F, by: 20% }] }');
    // Medians: L 70 s, F 80 s — only 12.5 % sooner.
    const slow = judgeFaster(s, peers({ L: [60_000, 70_000, 90_000], F: [75_000, 80_000, 85_000] }));
    expect(slow).toHaveLength(1);
    expect(slow[0]).toMatchObject({ check: 'faster' });
    expect(slow[0].message).toBe("group L's median download took 70.0 s, group F's 80.0 s: expected L at least 20 % sooner (at most 64.0 s)");
    // Medians: L 60 s, F 80 s — 25 % sooner.
    expect(judgeFaster(s, peers({ L: [50_000, 60_000, 95_000], F: [70_000, 80_000, 90_000] }))).toEqual([]);
    // Free riders that never complete are endlessly slow; honest ones that never complete fail.
    expect(judgeFaster(s, peers({ L: [1_000, 2_000, 3_000], F: [undefined, undefined, 1_000] }))).toEqual([]);
    expect(judgeFaster(s, peers({ L: [undefined, undefined, 3_000], F: [undefined, undefined, 1_000] }))[0].message).toMatch(/never \(the median peer did not complete\)/);
  });
});

describe('expect.maxDuplicateBytes', () => {
  it('parses a share of the payload or a size, and writes each back', () => {
    expect(scenarioOf('{ maxDuplicateBytes: 1% }').expect.maxDuplicateBytes).toEqual({ fraction: 0.01 });
    expect(scenarioOf('{ maxDuplicateBytes: 64KiB }').expect.maxDuplicateBytes).toEqual({ bytes: 65536 });
    for (const e of ['{ maxDuplicateBytes: 1% }', '{ maxDuplicateBytes: 64KiB }', '{ maxDuplicateBytes: 0.5% }']) {
      const s = scenarioOf(e);
      expect(loadScenario(parseScenarioText(scenarioToYaml(s)), '1').expect).toEqual(s.expect);
    }
    expect(problems(file('{ maxDuplicateBytes: lots }'))).toMatch(/expect\.maxDuplicateBytes.*a share of the payload such as 1% or 110%, or a size such as 64KiB, got "lots"/s);
  });

  it('judges the swarm total: fails past the bound, naming the peers with most, passes within it', () => {
    const s = scenarioOf('{ maxDuplicateBytes: 1% }'); // 1 % of 1 MiB: 10485 bytes
    const over = judgeDuplicates(s, peers({ L: [1, 1, 1] }, [8192, 4096, 0]));
    expect(over).toEqual([{ check: 'duplicate-bytes', message: '12288 duplicate bytes (1.17 % of the payload), expected at most 10485 (1.00 %); most: L0 8192, L1 4096, L2 0' }]);
    expect(judgeDuplicates(s, peers({ L: [1, 1, 1] }, [8192, 0, 0]))).toEqual([]);
    expect(judgeDuplicates(scenarioOf('{ maxDuplicateBytes: 16KiB }'), peers({ L: [1, 1, 1] }, [8192, 4096, 0]))).toEqual([]);
  });
});

describe('expect.firstCopy', () => {
  const swarm = () => {
    const seed = { label: 'S0', group: { prefix: 'S' }, client: { uploaded: 0 } };
    const l0 = { label: 'L0', group: { prefix: 'L' } };
    const l1 = { label: 'L1', group: { prefix: 'L' } };
    return { seed, target: { peers: [seed, l0, l1], torrent: { pieceCount: 2 }, observer: undefined as { emit(e: unknown): void } | undefined } };
  };

  it('parses, and names an unknown group', () => {
    expect(scenarioOf('{ firstCopy: { by: S, maxUpload: 110% } }').expect.firstCopy).toEqual({ by: 'S', maxUpload: { fraction: 1.1 } });
    expect(problems(file('{ firstCopy: { by: X, maxUpload: 110% } }'))).toMatch(/expect\.firstCopy\.by.*no group is called "X"/s);
  });

  it('measures the group upload when the others first hold every piece, and judges it', () => {
    const s = scenarioOf('{ firstCopy: { by: S, maxUpload: 110% } }');
    const { seed, target } = swarm();
    const watch = new FirstCopyWatch(target as never, 'S');
    const verified = (peer: string, piece: number, t: number) => target.observer!.emit({ t, peer, kind: 'verified', piece });
    seed.client.uploaded = 600 * 1024;
    verified('L0', 0, 1_000);
    verified('S0', 1, 1_500); // the group's own pieces do not count
    expect(watch.reached).toBeUndefined();
    expect(judgeFirstCopy(s, watch)[0].message).toMatch(/never held a full copy between them \(S uploaded 58\.6 % of the payload\)/);
    seed.client.uploaded = 1300 * 1024;
    verified('L1', 1, 2_000);
    expect(watch.reached).toEqual({ t: 2_000, uploaded: 1300 * 1024 });
    expect(judgeFirstCopy(s, watch)).toEqual([{ check: 'first-copy', t: 2_000, message: 'S had uploaded 127.0 % of the payload when the others first held a full copy, expected at most 110.0 % of the payload' }]);
    seed.client.uploaded = 5 * 1024 * 1024; // later uploads change nothing
    expect(judgeFirstCopy(scenarioOf('{ firstCopy: { by: S, maxUpload: 130% } }'), watch)).toEqual([]);
  });
});
