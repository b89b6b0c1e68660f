// The reserved bytes of the BEP 3 handshake: which extensions a peer offers. We set and read two
// bits, BEP 10 (extension protocol) and BEP 6 (Fast); the others are left zero and ignored.

/** Reserved-byte bits: BEP 10 (byte 5, 0x10) and BEP 6 (byte 7, 0x04). */
export const RESERVED_EXTENSION_PROTOCOL = { byte: 5, bit: 0x10 } as const;
export const RESERVED_FAST = { byte: 7, bit: 0x04 } as const;

export function reservedBytes(o: { extensionProtocol: boolean; fast: boolean }): Uint8Array {
  const r = new Uint8Array(8);
  if (o.extensionProtocol) r[RESERVED_EXTENSION_PROTOCOL.byte] |= RESERVED_EXTENSION_PROTOCOL.bit;
  if (o.fast) r[RESERVED_FAST.byte] |= RESERVED_FAST.bit;
  return r;
}

export function supportsExtensionProtocol(reserved: Uint8Array): boolean {
  return (reserved[RESERVED_EXTENSION_PROTOCOL.byte] & RESERVED_EXTENSION_PROTOCOL.bit) !== 0;
}

export function supportsFast(reserved: Uint8Array): boolean {
  return (reserved[RESERVED_FAST.byte] & RESERVED_FAST.bit) !== 0;
}
