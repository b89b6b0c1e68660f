// Storage faults as verbs of a peer's storage (sim/storage-faults.ts): a full disk and corrupt
// reads, each ended by its own handle, so overlapping faults heal in any order.

import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../engine/memory-storage.ts';
import { SeededRandom } from '../sim/random.ts';
import { FaultyStorage } from '../sim/storage-faults.ts';

const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

function storage() {
  const inner = new MemoryStorage(bytes.length, bytes.slice());
  return new FaultyStorage(inner, new SeededRandom('storage-faults'));
}

describe('storage fault verbs', () => {
  it('two full-disk faults that overlap: healing the first leaves the disk full until the second heals', () => {
    const s = storage();
    const first = s.fillDisk();
    const second = s.fillDisk();
    s.heal(first);
    expect(() => s.write(0, new Uint8Array([9]))).toThrow('ENOSPC: no space left on device');
    s.heal(second);
    s.write(0, new Uint8Array([9]));
    expect(s.read(0, 1)).toEqual(new Uint8Array([9]));
  });

  it('corrupt reads flip one byte with the probability of the latest fault; none once all heal', () => {
    const s = storage();
    const always = s.corruptReads(1);
    const never = s.corruptReads(0);
    expect(s.read(0, 8)).toEqual(bytes); // the latest, probability 0, wins
    s.heal(never);
    const bad = s.read(0, 8);
    expect([...bad].filter((b, i) => b !== bytes[i])).toHaveLength(1);
    expect(s.knownDigest(0, 8)).toBeUndefined(); // a digest must come from what reads return
    s.heal(always);
    expect(s.read(0, 8)).toEqual(bytes);
  });

  it('bad input is a clear error', () => {
    const s = storage();
    expect(() => s.corruptReads(2)).toThrow('storage: corrupt-read probability must be in [0, 1], got 2');
    const f = s.fillDisk();
    s.heal(f);
    expect(() => s.heal(f)).toThrow(`storage: fault ${f.id} is not active`);
  });
});
