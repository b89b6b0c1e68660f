// Storage faults as verbs of a peer's storage: a disk that is full, reads that return flipped
// bytes. `FaultyStorage` wraps any Storage (the simulator's, or live mode's files), so the same
// verbs work on every transport. Like the network's, each verb returns a handle that alone ends
// that fault: two faults on one peer heal in any order without undoing each other.

import type { Random, Storage } from '../engine/ports.ts';
import { Layers } from './fault-layers.ts';

declare const storageFaultBrand: unique symbol;
export type StorageFaultHandle = { readonly id: number; readonly [storageFaultBrand]: 'storage' };

export class FaultyStorage implements Storage {
  private readonly diskFullLayers = new Layers<boolean>();
  private readonly corruptLayers = new Layers<number | undefined>();
  private nextId = 1;
  /** Probability that a read is corrupted; undefined while no corrupt-read fault is on. */
  private corruptProbability: number | undefined;
  private diskFull = false;

  constructor(
    private readonly inner: Storage,
    /** Corrupt reads draw from here (a scenario's `faults` stream). */
    private readonly random: Random,
  ) {}

  /** Every write fails with ENOSPC until `heal`. */
  fillDisk(): StorageFaultHandle {
    return this.layer((id) => this.diskFullLayers.add(id, true));
  }

  /** Each read is corrupted (one byte flipped) with `probability`, until `heal`. */
  corruptReads(probability: number): StorageFaultHandle {
    if (!(probability >= 0 && probability <= 1)) throw new Error(`storage: corrupt-read probability must be in [0, 1], got ${probability}`);
    return this.layer((id) => this.corruptLayers.add(id, probability));
  }

  /** True while a corrupt-read fault is active (the wire checker does not blame the peer for the blocks it spoils). */
  get corruptingReads(): boolean {
    return this.corruptProbability !== undefined;
  }

  heal(fault: StorageFaultHandle): void {
    const a = this.diskFullLayers.remove(fault.id);
    const b = this.corruptLayers.remove(fault.id);
    if (!a && !b) throw new Error(`storage: fault ${fault.id} is not active`);
    this.settle();
  }

  read(offset: number, length: number): Uint8Array {
    const bytes = this.inner.read(offset, length);
    const p = this.corruptProbability;
    if (p === undefined || this.random.next() >= p || length === 0) return bytes;
    const bad = bytes.slice();
    bad[Math.floor(this.random.next() * length)] ^= 0xff;
    return bad;
  }

  write(offset: number, bytes: Uint8Array): void {
    if (this.diskFull) throw new Error('ENOSPC: no space left on device');
    this.inner.write(offset, bytes);
  }

  flush(): void {
    this.inner.flush();
  }

  /** While reads may lie, the digest must come from what a read returns. */
  knownDigest(offset: number, length: number): Uint8Array | undefined {
    return this.corruptProbability !== undefined ? undefined : this.inner.knownDigest?.(offset, length);
  }

  private layer(add: (id: number) => void): StorageFaultHandle {
    const id = this.nextId++;
    add(id);
    this.settle();
    return { id } as StorageFaultHandle;
  }

  private settle(): void {
    this.diskFull = this.diskFullLayers.over(false);
    this.corruptProbability = this.corruptLayers.over(undefined);
  }
}
