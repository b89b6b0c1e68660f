// bencode v4 ships no type declarations; this covers the part swarmlab uses.
declare module 'bencode' {
  export type BencodeValue = number | Uint8Array | BencodeValue[] | { [key: string]: BencodeValue };
  interface Bencode {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array, encoding?: string): any;
    decode(data: Uint8Array, start: number, end: number, encoding?: string): any;
    byteLength(value: unknown): number;
  }
  const bencode: Bencode;
  export default bencode;
}
