// Adversaries that lie about data: `corrupt` serves flipped bytes, `liar` claims every piece and
// serves none, `unsolicited` pushes PIECE messages nobody asked for.

import type { Message } from '../../engine/wire.ts';
import type { Script, SessionScript, SessionTools } from './script.ts';

type Request = Extract<Message, { type: 'request' }>;

/**
 * A peer that looks like a seed: a full BITFIELD after the handshake, an UNCHOKE to whoever is
 * interested. What it does with a REQUEST is `onRequest`'s.
 */
function fakeSeed(s: SessionTools, onRequest: (r: Request) => void): SessionScript {
  let unchoked = false;
  return {
    handshaken: () => s.send({ type: 'bitfield', bits: s.shape.fullBitfield() }),
    message: (m) => {
      if (m.type === 'interested' && !unchoked) {
        unchoked = true;
        s.send({ type: 'unchoke' });
      } else if (m.type === 'request') {
        onRequest(m);
      }
    },
  };
}

/** The payload's bytes of a block, as a fresh copy the caller may change. */
function realBlock(s: SessionTools, index: number, begin: number, length: number): Uint8Array {
  const at = index * s.ctx.torrent.pieceLength + begin;
  return s.ctx.payload.slice(at, at + length);
}

/**
 * Answers every valid REQUEST at once with the block's bytes inverted — every block, or each with
 * probability `corruptFraction` (the others are served intact, which makes it harder to pin down).
 */
export const corrupt: Script = {
  claimsEverything: true,
  sendsHandshake: true,
  redialDelay: 10_000,
  attach(s) {
    const fraction = s.ctx.corruptFraction ?? 1;
    return fakeSeed(s, (r) => {
      if (!s.shape.holds(r.index, r.begin, r.length)) return;
      const block = realBlock(s, r.index, r.begin, r.length);
      if (s.random.next() < fraction) for (let i = 0; i < block.length; i++) block[i] ^= 0xff;
      s.send({ type: 'piece', index: r.index, begin: r.begin, block });
    });
  },
};

/** Keep-alive period of the liar: well inside any idle time-out, so it is never dropped as idle. */
export const LIAR_KEEP_ALIVE = 30_000;
/** How often the liar repeats a HAVE for a piece it already claimed. */
export const LIAR_REMINDER = 15_000;

/**
 * Claims every piece and unchokes, then never answers a REQUEST. It stays on the line (keep-alives)
 * and now and then repeats a HAVE, which costs it nothing and makes the honest peer look at it
 * again for blocks to ask.
 */
export const liar: Script = {
  claimsEverything: true,
  sendsHandshake: true,
  redialDelay: 10_000,
  attach(s) {
    const script = fakeSeed(s, () => {});
    return {
      ...script,
      handshaken: () => {
        script.handshaken?.();
        s.every(LIAR_KEEP_ALIVE, () => s.send({ type: 'keep-alive' }));
        s.every(LIAR_REMINDER, () => s.send({ type: 'have', index: s.random.int(0, s.shape.pieceCount - 1) }));
      },
    };
  },
};

/** The unsolicited peer's rhythm: this many PIECE messages every period. */
export const UNSOLICITED_BURST = 4;
export const UNSOLICITED_PERIOD = 250;

/**
 * Claims nothing, asks for nothing, and sends PIECE messages all the same: for real blocks with
 * the right bytes, real blocks with random bytes, and pieces past the torrent's end.
 */
export const unsolicited: Script = {
  claimsEverything: false,
  sendsHandshake: true,
  redialDelay: 10_000,
  attach(s) {
    const sendOne = () => {
      const b = s.shape.randomBlock(s.random);
      const kind = s.random.next();
      if (kind < 0.4) {
        s.send({ type: 'piece', index: b.index, begin: b.begin, block: realBlock(s, b.index, b.begin, b.length) });
      } else if (kind < 0.8) {
        s.send({ type: 'piece', index: b.index, begin: b.begin, block: s.random.bytes(b.length) });
      } else {
        s.send({ type: 'piece', index: s.shape.pieceCount + b.index, begin: b.begin, block: s.random.bytes(b.length) });
      }
    };
    return {
      handshaken: () =>
        s.every(UNSOLICITED_PERIOD, () => {
          for (let i = 0; i < UNSOLICITED_BURST; i++) sendOne();
        }),
    };
  },
};
