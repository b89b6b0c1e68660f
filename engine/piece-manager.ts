// The Piece Manager: which pieces we have, which blocks are in flight to whom, which blocks to ask
// a peer for next, and the SHA1 check of each piece when its last block arrives.

import { Bitfield } from './bitfield.ts';
import { bytesEqual } from './bytes.ts';
import { assertCounterEquals, assertCounterInRange } from './counters.ts';
import { sha1 } from './metainfo.ts';
import { blockLength, blocksIn, pieceSize } from './piece-shape.ts';
import type { Random, Storage } from './ports.ts';
import type { PiecePicker } from './settings.ts';
import type { PlantedBug } from './test-hooks.ts';
import { BLOCK_SIZE } from './wire.ts';

export interface BlockRef {
  index: number;
  begin: number;
  length: number;
}

export interface PieceLayout {
  pieceCount: number;
  pieceLength: number;
  length: number;
  pieceHashes: readonly Uint8Array[];
}


/** A piece with at least one block requested or received. */
interface PartialPiece<K> {
  index: number;
  blockCount: number;
  received: Uint8Array;
  receivedCount: number;
  /** Per block: who it is requested from (more than one only in endgame). */
  requesters: K[][];
  /** Per block: when it was last asked of a peer that had none of it in flight (endgame's age). */
  requestedAt: Float64Array;
  contributors: Set<K>;
  /** Who sent each block that arrived. */
  sentBy: (K | undefined)[];
  /**
   * The peer on parole this piece was started for: nobody else is handed its blocks (before
   * endgame) while that peer has some in flight, so a failure of the piece is its own.
   */
  exclusiveTo?: K;
}

/** What a failed piece looked like, block by block, to find the culprit once it passes. */
interface FailedBlock<K> {
  block: number;
  sender: K;
  digest: Uint8Array;
}

/** `K` identifies one connection (one remote peer), as in `PieceManager<K>`. */
export type BlockResult<K = string> =
  | { status: 'unexpected' }
  | { status: 'duplicate' }
  | { status: 'write-failed'; error: string }
  | {
      status: 'stored';
      /** Other peers the same block was requested from (endgame): cancel there. */
      cancels: readonly { peer: K; block: BlockRef }[];
      /** Set when this block completed its piece. */
      piece?: PieceOutcome<K>;
    };

export interface PieceOutcome<K = string> {
  index: number;
  ok: boolean;
  contributors: K[];
  /**
   * When a piece that failed before now passes: the senders whose earlier blocks differ from the
   * good ones (the culprits), and those whose blocks were right all along.
   */
  culprits?: K[];
  cleared?: K[];
}

/** libtorrent's cap on partial pieces' blocks (32 MiB of 16 KiB blocks): past it, partial pieces come first. */
const PARTIAL_BLOCKS_LIMIT = 2048;
const NO_CANCELS: readonly { peer: never; block: BlockRef }[] = Object.freeze([]);

/**
 * `K` identifies one connection (one remote peer): the engine passes its `K` objects, compared
 * by identity; the Piece Manager never looks inside one.
 */
export class PieceManager<K = string> {
  /** Block digests of pieces that failed their check and have not passed since. */
  private readonly failed = new Map<number, FailedBlock<K>[]>();

  readonly have: Bitfield;
  /** How many connected peers hold each piece. */
  private readonly availability: Uint32Array;
  private readonly partial = new Map<number, PartialPiece<K>>();
  /** Blocks of missing pieces that are neither received nor requested from anyone. */
  private unrequested = 0;
  /** Blocks in the torrent: the bound of `unrequested`. */
  private readonly totalBlocks: number;

  constructor(
    readonly layout: PieceLayout,
    private readonly storage: Storage,
    private readonly random: Random,
    private readonly picker: PiecePicker = 'rarest-first',
    initial?: Bitfield,
    /** TEST ONLY: engine/test-hooks.ts. */
    private readonly plantedBug?: PlantedBug,
    /**
     * Endgame's bounds (settings' `endgameCopies`, `endgameAfter`), and whether a holder of a
     * block is sending it to us now (such a block is never copied: both copies would arrive).
     */
    private readonly endgameBounds: { copies: number; after: number; sending?: (holder: K, block: { index: number; begin: number }) => boolean } = { copies: 2, after: 0 },
    /**
     * Whether a peer is on parole (it helped with a piece that failed its check: the Trust
     * Manager's `onParole`). As libtorrent's picker: such a peer is given only whole pieces of its
     * own, so that a corrupt one is known to be its alone.
     */
    private readonly onParole: (peer: K) => boolean = () => false,
  ) {
    this.have = initial ?? new Bitfield(layout.pieceCount);
    this.availability = new Uint32Array(layout.pieceCount);
    let total = 0;
    for (let i = 0; i < layout.pieceCount; i++) {
      total += this.blockCountOf(i);
      if (!this.have.has(i)) this.unrequested += this.blockCountOf(i);
    }
    this.totalBlocks = total;
  }

  get complete(): boolean {
    return this.have.complete;
  }

  /** Endgame: every missing block is already requested from someone. */
  get endgame(): boolean {
    return this.unrequested === 0 && !this.have.complete;
  }

  pieceSize(index: number): number {
    return pieceSize(this.layout, index);
  }

  blockCountOf(index: number): number {
    return blocksIn(this.layout, index);
  }

  /** Bytes of the payload we do not hold yet. */
  get left(): number {
    let left = 0;
    for (let i = 0; i < this.layout.pieceCount; i++) if (!this.have.has(i)) left += this.pieceSize(i);
    return left;
  }

  availabilityOf(index: number): number {
    return this.availability[index];
  }

  addPeerPieces(pieces: Bitfield): void {
    for (let i = 0; i < pieces.size; i++) if (pieces.has(i)) this.availability[i]++;
  }

  removePeerPieces(pieces: Bitfield): void {
    for (let i = 0; i < pieces.size; i++) if (pieces.has(i) && this.availability[i] > 0) this.availability[i]--;
  }

  addPeerPiece(index: number): void {
    this.availability[index]++;
  }

  /** True when `pieces` holds something we lack. */
  wants(pieces: Bitfield): boolean {
    if (pieces.empty || this.have.complete) return false;
    for (let i = 0; i < pieces.size; i++) if (pieces.has(i) && !this.have.has(i)) return true;
    return false;
  }

  /**
   * Picks up to `max` blocks for `peer` among the pieces it has, rarest first as libtorrent's
   * picker ranks them: a partial piece comes before a new piece as rare as it, never before a rarer
   * one (libtorrent's `piece_pos::priority`: availability first, "downloading" one step ahead of
   * "open"), so a peer that holds what nobody else does (a seed) is asked for that and not for what
   * the other peers could give; ties among new pieces are broken by the seeded random. Only when
   * partial pieces pile up — more than 1.5 per connected peer (`endgame.peers`), or 2,048 blocks,
   * libtorrent's `prioritize_partials` — do all partial pieces come first. Then in endgame one block already in
   * flight to another peer: only when `peer` has no request in flight (`endgame.outstanding`, as
   * libtorrent's picker: "if we already have at least one outstanding request, we shouldn't pick
   * any busy pieces"), only a block asked at least `endgameAfter` ms before `endgame.now` (a
   * straggler, not one about to arrive), never for an `unproven` peer, and each block to at most
   * `endgameCopies` peers at once. Pieces the peer suggested (BEP 6 SUGGEST, oldest first) come
   * before rarest first among the new ones, as in libtorrent's picker. A peer on parole
   * (`onParole`) gets free blocks only of pieces started for it, which nobody else joins.
   */
  grab(
    peer: K,
    peerPieces: Bitfield,
    max: number,
    endgame: { outstanding: number; now: number; unproven?: boolean; peers?: number } = { outstanding: 0, now: Infinity },
    suggested: Iterable<number> = [],
  ): BlockRef[] {
    const picked: BlockRef[] = [];
    if (max <= 0 || this.have.complete) return picked;
    const parole = this.onParole(peer);
    const joinable = (p: PartialPiece<K>) => peerPieces.has(p.index) && this.hasFree(p) && this.mayJoin(p, peer, parole);
    const startNew = (index: number) => this.takeFree(this.startPiece(index, parole ? peer : undefined), peer, picked, max, endgame.now);
    const peers = endgame.peers ?? 1;
    // Sequential order takes the partial pieces first: they are the lowest pieces started.
    const partialsFirst = this.picker === 'sequential' || this.partial.size > (peers * 3) / 2 || this.partial.size * Math.ceil(this.layout.pieceLength / BLOCK_SIZE) > PARTIAL_BLOCKS_LIMIT;
    if (partialsFirst) {
      for (const p of this.partial.values()) {
        if (picked.length >= max) return picked;
        if (joinable(p)) this.takeFree(p, peer, picked, max, endgame.now);
      }
    }
    for (const index of suggested) {
      if (picked.length >= max) return picked;
      if (this.isNewFor(index, peerPieces)) startNew(index);
    }
    // Each turn takes the rarest candidate: the oldest of the rarest partial pieces, unless a new
    // piece is rarer still. A partial piece taken is left with no free block or `picked` is full.
    const taken = new Set<number>();
    while (picked.length < max) {
      let partial: PartialPiece<K> | undefined;
      if (!partialsFirst) {
        for (const p of this.partial.values()) {
          if (taken.has(p.index) || (partial && this.availability[p.index] >= this.availability[partial.index])) continue;
          if (joinable(p)) partial = p;
        }
      }
      const index = this.pickNewPiece(peerPieces, partial ? this.availability[partial.index] : Infinity);
      if (index >= 0) startNew(index);
      else if (partial) {
        taken.add(partial.index);
        this.takeFree(partial, peer, picked, max, endgame.now);
      } else break;
    }
    // An unproven peer (snubbed, or it never sent us a block) would only take a copy slot from a
    // better one: two requests of a block at two peers that never answer stall it for good.
    if (picked.length === 0 && endgame.outstanding === 0 && !endgame.unproven && this.unrequested === 0) this.takeEndgame(peer, peerPieces, picked, endgame.now - this.endgameBounds.after);
    return picked;
  }

  /**
   * For a web seed (BEP 19), which asks for byte ranges: one contiguous run of blocks in one piece
   * that nobody else is fetching. A whole new piece first (rarest first, as `grab`), else the first
   * run of free blocks in a partial piece the seed has; never endgame duplicates (an HTTP request
   * cannot be cancelled cheaply). Empty when there is nothing to fetch. `now`: the request's time,
   * for endgame's `endgameAfter`.
   */
  grabRun(peer: K, peerPieces: Bitfield, now: number): BlockRef[] {
    const picked: BlockRef[] = [];
    if (this.have.complete) return picked;
    const index = this.pickNewPiece(peerPieces);
    if (index >= 0) {
      const p = this.startPiece(index);
      this.takeFree(p, peer, picked, p.blockCount, now);
      return picked;
    }
    for (const p of this.partial.values()) {
      if (!peerPieces.has(p.index) || !this.mayJoin(p, peer, false)) continue;
      for (let j = 0; j < p.blockCount; j++) {
        const free = !p.received[j] && p.requesters[j].length === 0;
        if (free) {
          p.requesters[j].push(peer);
          p.requestedAt[j] = now;
          this.changeUnrequested(-1);
          picked.push({ index: p.index, begin: j * BLOCK_SIZE, length: this.blockLength(p.index, j) });
        } else if (picked.length > 0) return picked;
      }
      if (picked.length > 0) return picked;
    }
    return picked;
  }

  /** Returns blocks requested from `peer` that will not come (choke, disconnect, time-out). */
  giveBack(peer: K, blocks: Iterable<BlockRef>): void {
    for (const b of blocks) {
      const p = this.partial.get(b.index);
      if (!p) continue;
      const j = b.begin / BLOCK_SIZE;
      const who = p.requesters[j];
      const at = who.indexOf(peer);
      if (at < 0) continue;
      who.splice(at, 1);
      if (who.length === 0 && !p.received[j]) this.changeUnrequested(1);
    }
  }

  /** Stores a block `peer` sent. Checks the piece's SHA1 when this was its last block. */
  blockReceived(peer: K, index: number, begin: number, data: Uint8Array): BlockResult<K> {
    const p = this.partial.get(index);
    const j = begin / BLOCK_SIZE;
    if (!p || !Number.isInteger(j) || j >= p.blockCount || data.length !== this.blockLength(index, j)) {
      return { status: 'unexpected' };
    }
    const who = p.requesters[j];
    if (!who.includes(peer)) return { status: 'unexpected' };
    if (p.received[j]) {
      who.splice(who.indexOf(peer), 1);
      return { status: 'duplicate' };
    }
    try {
      this.storage.write(index * this.layout.pieceLength + begin, data);
    } catch (err) {
      this.giveBack(peer, [{ index, begin, length: data.length }]);
      return { status: 'write-failed', error: (err as Error).message };
    }
    p.received[j] = 1;
    p.receivedCount++;
    assertCounterInRange('received blocks of piece', p.receivedCount, 1, p.blockCount, index);
    p.contributors.add(peer);
    p.sentBy[j] = peer;
    // Outside endgame the block was asked of this peer alone: no cancels to build.
    const cancels =
      who.length === 1
        ? NO_CANCELS
        : who.filter((other) => other !== peer).map((other) => ({ peer: other, block: { index, begin, length: data.length } }));
    p.requesters[j] = [];
    if (p.receivedCount < p.blockCount) return { status: 'stored', cancels };
    return { status: 'stored', cancels, piece: this.finishPiece(p) };
  }

  /**
   * Forgets the blocks of unfinished pieces that `from` sent (a banned peer's): they are fetched
   * again from others rather than left to fail their piece's check. Returns how many.
   */
  discardBlocksFrom(from: (peer: K) => boolean): number {
    let discarded = 0;
    for (const p of this.partial.values()) {
      let touched = false;
      for (let j = 0; j < p.blockCount; j++) {
        const sender = p.sentBy[j];
        if (!p.received[j] || sender === undefined || !from(sender)) continue;
        p.received[j] = 0;
        p.receivedCount--;
        p.sentBy[j] = undefined;
        if (p.requesters[j].length === 0) this.changeUnrequested(1);
        touched = true;
        discarded++;
      }
      if (touched) for (const k of [...p.contributors]) if (from(k)) p.contributors.delete(k);
    }
    return discarded;
  }

  /** Reads every piece from storage and keeps those whose SHA1 matches (resume, restart). */
  recheck(): number {
    this.partial.clear();
    this.unrequested = 0;
    for (let i = 0; i < this.layout.pieceCount; i++) {
      if (this.verify(i)) this.have.set(i);
      else {
        this.have.clear(i);
        this.unrequested += this.blockCountOf(i);
      }
    }
    return this.have.count;
  }

  /** Blocks in flight and partial pieces, for invariant checks and reports. */
  inFlight(): { index: number; received: number; blocks: number; requesters: K[] }[] {
    return [...this.partial.values()].map((p) => ({
      index: p.index,
      received: p.receivedCount,
      blocks: p.blockCount,
      requesters: [...new Set(p.requesters.flat())],
    }));
  }

  /**
   * Recomputes the hand-kept counters from scratch and throws a CounterError naming the first that
   * differs: `unrequested`, each partial piece's received blocks, each piece's availability (from
   * the piece sets of the connected peers). Returns how many blocks are requested from each peer,
   * for the connections' own check (engine/counters.ts).
   */
  recountCounters(remotePieceSets: readonly Bitfield[]): ReadonlyMap<K, number> {
    let unrequested = 0;
    const requested = new Map<K, number>();
    for (let i = 0; i < this.layout.pieceCount; i++) {
      if (this.have.has(i)) continue;
      const p = this.partial.get(i);
      if (!p) {
        unrequested += this.blockCountOf(i);
        continue;
      }
      let received = 0;
      for (let j = 0; j < p.blockCount; j++) {
        if (p.received[j]) received++;
        else if (p.requesters[j].length === 0) unrequested++;
        assertCounterInRange(`requests in flight of block ${j} of piece`, p.requesters[j].length, 0, this.endgameBounds.copies, i);
        for (const peer of p.requesters[j]) requested.set(peer, (requested.get(peer) ?? 0) + 1);
      }
      assertCounterEquals(`received blocks of piece ${i}`, p.receivedCount, received);
    }
    assertCounterEquals('unrequested', this.unrequested, unrequested);
    const holders = new Uint32Array(this.layout.pieceCount);
    for (const set of remotePieceSets) {
      for (let k = 0; k < set.bytes.length; k++) {
        const byte = set.bytes[k];
        if (byte !== 0) for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) holders[k * 8 + bit]++;
      }
    }
    for (let i = 0; i < this.layout.pieceCount; i++) assertCounterEquals(`availability of piece ${i}`, this.availability[i], holders[i]);
    return requested;
  }

  /** True when we hold `block` already: its piece is verified, or the block arrived (a second copy is a duplicate). */
  holdsBlock(block: Pick<BlockRef, 'index' | 'begin'>): boolean {
    if (block.index < 0 || block.index >= this.layout.pieceCount) return false;
    if (this.have.has(block.index)) return true;
    return this.partial.get(block.index)?.received[block.begin / BLOCK_SIZE] === 1;
  }

  /** True when `block` is in flight to `peer`. */
  isRequestedFrom(peer: K, block: BlockRef): boolean {
    return this.partial.get(block.index)?.requesters[block.begin / BLOCK_SIZE]?.includes(peer) ?? false;
  }

  private changeUnrequested(by: number): void {
    this.unrequested += by;
    assertCounterInRange('unrequested', this.unrequested, 0, this.totalBlocks);
  }

  private blockLength(index: number, j: number): number {
    return blockLength(this.layout, index, j);
  }

  private verify(index: number): boolean {
    const offset = index * this.layout.pieceLength;
    const length = this.pieceSize(index);
    const digest = this.storage.knownDigest?.(offset, length) ?? sha1(this.storage.read(offset, length));
    return bytesEqual(digest, this.layout.pieceHashes[index]);
  }

  private finishPiece(p: PartialPiece<K>): PieceOutcome<K> {
    this.partial.delete(p.index);
    const contributors = [...p.contributors];
    let ok: boolean;
    try {
      ok = (this.plantedBug === 'trust-single-source' && contributors.length === 1) || this.verify(p.index);
    } catch {
      ok = false;
    }
    if (ok) this.have.set(p.index);
    else this.changeUnrequested(p.blockCount); // the piece starts over
    const outcome: PieceOutcome<K> = { index: p.index, ok, contributors };
    if (ok) Object.assign(outcome, this.blame(p.index));
    else if (contributors.length > 1) this.recordFailure(p);
    return outcome;
  }

  /** Keeps a digest of each block of a failed piece, with its sender (20 bytes a block). */
  private recordFailure(p: PartialPiece<K>): void {
    const blocks: FailedBlock<K>[] = [];
    for (let j = 0; j < p.blockCount; j++) {
      const sender = p.sentBy[j];
      if (sender !== undefined) blocks.push({ block: j, sender, digest: sha1(this.readBlock(p.index, j)) });
    }
    const earlier = this.failed.get(p.index) ?? [];
    this.failed.set(p.index, [...earlier, ...blocks]);
  }

  /** The piece passed: whoever sent a block that differs from the good one was lying. */
  private blame(index: number): { culprits?: K[]; cleared?: K[] } {
    const blocks = this.failed.get(index);
    if (!blocks) return {};
    this.failed.delete(index);
    const good = new Map<number, Uint8Array>();
    const culprits = new Set<K>();
    const honest = new Set<K>();
    for (const b of blocks) {
      if (!good.has(b.block)) good.set(b.block, sha1(this.readBlock(index, b.block)));
      (bytesEqual(good.get(b.block)!, b.digest) ? honest : culprits).add(b.sender);
    }
    for (const c of culprits) honest.delete(c);
    return { culprits: [...culprits], cleared: [...honest] };
  }

  private readBlock(index: number, j: number): Uint8Array {
    return this.storage.read(index * this.layout.pieceLength + j * BLOCK_SIZE, this.blockLength(index, j));
  }

  /**
   * Whether `peer` may be handed free blocks of a piece already started: a peer on parole only
   * of its own pieces; anyone else not of a piece kept for a peer on parole that still has
   * blocks of it in flight (once that peer is gone or done asking, the piece is open again).
   */
  private mayJoin(p: PartialPiece<K>, peer: K, parole: boolean): boolean {
    const owner = p.exclusiveTo;
    if (owner === peer) return true;
    const ownerBusy = owner !== undefined && p.requesters.some((who, j) => !p.received[j] && who.includes(owner));
    if (parole) {
      // A piece nobody is fetching that holds no block but the peer's own is as good as new: it
      // becomes the peer's. Else a piece left by an owner that was banned or left (its blocks
      // discarded) would wait for good while only peers on parole are left to fetch it.
      if (ownerBusy || p.requesters.some((who) => who.length > 0) || p.sentBy.some((from, j) => p.received[j] && from !== peer)) return false;
      p.exclusiveTo = peer;
      return true;
    }
    if (owner === undefined) return true;
    if (ownerBusy) return false;
    p.exclusiveTo = undefined;
    return true;
  }

  private startPiece(index: number, exclusiveTo?: K): PartialPiece<K> {
    const blockCount = this.blockCountOf(index);
    const p: PartialPiece<K> = {
      index,
      blockCount,
      received: new Uint8Array(blockCount),
      receivedCount: 0,
      requesters: Array.from({ length: blockCount }, () => []),
      requestedAt: new Float64Array(blockCount),
      contributors: new Set(),
      sentBy: new Array(blockCount),
      ...(exclusiveTo === undefined ? {} : { exclusiveTo }),
    };
    this.partial.set(index, p);
    return p;
  }

  private hasFree(p: PartialPiece<K>): boolean {
    for (let j = 0; j < p.blockCount; j++) if (!p.received[j] && p.requesters[j].length === 0) return true;
    return false;
  }

  private takeFree(p: PartialPiece<K>, peer: K, picked: BlockRef[], max: number, now: number): void {
    for (let j = 0; j < p.blockCount && picked.length < max; j++) {
      if (p.received[j] || p.requesters[j].length > 0) continue;
      p.requesters[j].push(peer);
      p.requestedAt[j] = now;
      this.changeUnrequested(-1);
      picked.push({ index: p.index, begin: j * BLOCK_SIZE, length: this.blockLength(p.index, j) });
    }
  }

  /**
   * The last requested blocks first (the newest partial piece, its last block): they wait at the
   * back of their requester's queue, so the CANCEL for the copy that loses reaches it before it is
   * sent. The first requested would be on the wire already: both copies would arrive.
   */
  private takeEndgame(peer: K, peerPieces: Bitfield, picked: BlockRef[], askedBy: number): void {
    for (const p of [...this.partial.values()].reverse()) {
      if (!peerPieces.has(p.index)) continue;
      for (let j = p.blockCount - 1; j >= 0; j--) {
        const who = p.requesters[j];
        if (p.received[j] || who.length >= this.endgameBounds.copies || who.includes(peer) || p.requestedAt[j] > askedBy) continue;
        const sending = this.endgameBounds.sending;
        if (sending && who.some((holder) => sending(holder, { index: p.index, begin: j * BLOCK_SIZE }))) continue;
        who.push(peer);
        picked.push({ index: p.index, begin: j * BLOCK_SIZE, length: this.blockLength(p.index, j) });
        return;
      }
    }
  }

  /** The peer has piece `index`, we lack it, and nobody is fetching it yet. */
  private isNewFor(index: number, peerPieces: Bitfield): boolean {
    return !this.have.has(index) && !this.partial.has(index) && peerPieces.has(index);
  }

  /** A piece the peer has, we lack, nobody is fetching yet, and held by fewer than `rarerThan` peers; -1 when there is none. */
  private pickNewPiece(peerPieces: Bitfield, rarerThan = Infinity): number {
    let best = -1;
    let bestAvailability = rarerThan;
    let ties = 0;
    for (let i = 0; i < this.layout.pieceCount; i++) {
      if (!this.isNewFor(i, peerPieces)) continue;
      if (this.picker === 'sequential') return i;
      const a = this.availability[i];
      if (a < bestAvailability) {
        best = i;
        bestAvailability = a;
        ties = 1;
      } else if (a === bestAvailability && best >= 0) {
        // Reservoir sampling: each tied piece ends up chosen with equal probability.
        ties++;
        if (this.random.next() * ties < 1) best = i;
      }
    }
    return best;
  }
}
