// An in-memory Storage: the whole payload in one buffer. Live mode adds a file store.

import type { Storage } from './ports.ts';

export class MemoryStorage implements Storage {
  readonly bytes: Uint8Array;

  constructor(length: number, initial?: Uint8Array) {
    this.bytes = initial ? initial : new Uint8Array(length);
    if (this.bytes.length !== length) throw new Error(`storage: initial data is ${this.bytes.length} bytes, expected ${length}`);
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(offset, length, this.bytes.length);
    return this.bytes.subarray(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    checkRange(offset, data.length, this.bytes.length);
    this.bytes.set(data, offset);
  }

  flush(): void {}
}

export function checkRange(offset: number, length: number, size: number): void {
  if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= size)) {
    throw new RangeError(`storage: range ${offset}+${length} is outside 0..${size}`);
  }
}
