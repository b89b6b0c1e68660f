// A fixed-size set of piece indices, stored as the wire's BITFIELD bytes (high bit first).

export class Bitfield {
  readonly bytes: Uint8Array;
  private setCount = 0;

  constructor(readonly size: number, bytes?: Uint8Array) {
    this.bytes = new Uint8Array(Math.ceil(size / 8));
    if (bytes) {
      this.bytes.set(bytes.subarray(0, this.bytes.length));
      // Spare bits past `size` must be zero (BEP 3); clear them so they never count.
      const spare = this.bytes.length * 8 - size;
      if (spare > 0) this.bytes[this.bytes.length - 1] &= 0xff << spare;
      for (let i = 0; i < size; i++) if (this.has(i)) this.setCount++;
    }
  }

  static full(size: number): Bitfield {
    const b = new Bitfield(size);
    for (let i = 0; i < size; i++) b.set(i);
    return b;
  }

  /** True when the spare bits of `bytes` past `size` are all zero and its length is right. */
  static isValid(size: number, bytes: Uint8Array): boolean {
    if (bytes.length !== Math.ceil(size / 8)) return false;
    const spare = bytes.length * 8 - size;
    return spare === 0 || (bytes[bytes.length - 1] & ~(0xff << spare) & 0xff) === 0;
  }

  has(index: number): boolean {
    return (this.bytes[index >> 3] & (0x80 >> (index & 7))) !== 0;
  }

  set(index: number): void {
    if (!this.has(index)) {
      this.bytes[index >> 3] |= 0x80 >> (index & 7);
      this.setCount++;
    }
  }

  clear(index: number): void {
    if (this.has(index)) {
      this.bytes[index >> 3] &= ~(0x80 >> (index & 7));
      this.setCount--;
    }
  }

  get count(): number {
    return this.setCount;
  }

  get complete(): boolean {
    return this.setCount === this.size;
  }

  get empty(): boolean {
    return this.setCount === 0;
  }
}
