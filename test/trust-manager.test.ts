// The Trust Manager on its own: piece outcomes in, bans out as data.

import { describe, expect, it } from 'vitest';
import { TRUST, TrustManager } from '../engine/trust-manager.ts';

const from = (...banKeys: string[]) => banKeys.map((banKey) => ({ banKey }));

describe('TrustManager', () => {
  it('bans a remote that sent two corrupt pieces alone, once, and says why', () => {
    const t = new TrustManager();
    expect(t.pieceChecked({ ok: false, contributors: from('liar') })).toEqual([]);
    expect(t.trustOf('liar')).toBe(TRUST.badAlone);
    expect(t.pieceChecked({ ok: false, contributors: from('liar') })).toEqual([{ banKey: 'liar', reason: `sent corrupt data (trust ${2 * TRUST.badAlone})` }]);
    expect(t.isBanned('liar')).toBe(true);
    // Charged again later (a piece it shared with others fails): no second ban.
    expect(t.pieceChecked({ ok: false, contributors: from('liar') })).toEqual([]);
  });

  it('parole: a remote that shared a failed piece is on parole until a piece of its own passes; one with no trust earned that then fails a piece alone is banned at once', () => {
    const t = new TrustManager();
    for (let i = 0; i < 20; i++) t.pieceChecked({ ok: true, contributors: from('a') });
    expect(t.onParole('a')).toBe(false);
    t.pieceChecked({ ok: false, contributors: from('a', 'b') });
    expect([t.onParole('a'), t.onParole('b')]).toEqual([true, true]);
    // A shared good piece proves nothing; one of its own does.
    t.pieceChecked({ ok: true, contributors: from('a', 'c') });
    expect(t.onParole('a')).toBe(true);
    t.pieceChecked({ ok: true, contributors: from('a') });
    expect(t.onParole('a')).toBe(false);
    // b, on parole with trust -1, fails a piece alone: banned at once (not after a second one).
    expect(t.pieceChecked({ ok: false, contributors: from('b') })).toEqual([{ banKey: 'b', reason: `sent corrupt data (trust ${TRUST.banAt})` }]);
    // a has trust to spare (our disk may be what failed): charged as before, on parole again, not banned.
    expect(t.pieceChecked({ ok: false, contributors: from('a') })).toEqual([]);
    expect(t.pieceChecked({ ok: false, contributors: from('a') })).toEqual([]);
    expect(t.onParole('a')).toBe(true);
    expect(t.trustOf('a')).toBe(TRUST.cap + 2 * TRUST.badAlone); // the good pieces had refilled it to the cap
  });

  it('an honest remote survives a shared failure on the trust it earned; trust is capped', () => {
    const t = new TrustManager();
    for (let i = 0; i < 20; i++) t.pieceChecked({ ok: true, contributors: from('honest') });
    expect(t.trustOf('honest')).toBe(TRUST.cap);
    for (let i = 0; i < 6; i++) expect(t.pieceChecked({ ok: false, contributors: from('honest', 'other') })).toEqual([]);
    expect(t.trustOf('honest')).toBe(TRUST.cap + 6 * TRUST.badShared);
    expect(t.isBanned('honest')).toBe(false);
  });

  it('counts blame by connection but charges each ban key once per piece', () => {
    const t = new TrustManager();
    // Two connections from one IP sent the piece: shared blame, charged once to that IP.
    t.pieceChecked({ ok: false, contributors: from('ip', 'ip') });
    expect(t.trustOf('ip')).toBe(TRUST.badShared);
  });

  it('a piece that passes after failing charges its culprits as if alone, and credits the rest', () => {
    const t = new TrustManager();
    t.pieceChecked({ ok: false, contributors: from('a', 'b') });
    const bans = t.pieceChecked({ ok: true, contributors: from('a', 'c'), culprits: from('b') });
    expect(bans).toEqual([]);
    expect([t.trustOf('a'), t.trustOf('b'), t.trustOf('c')]).toEqual([TRUST.badShared + TRUST.good, TRUST.badShared + TRUST.badAlone, TRUST.good]);
  });

  it('returns bans in the order the trust moved', () => {
    const t = new TrustManager();
    t.pieceChecked({ ok: false, contributors: from('x') });
    t.pieceChecked({ ok: false, contributors: from('y') });
    const bans = t.pieceChecked({ ok: true, contributors: [], culprits: from('y', 'x') });
    expect(bans.map((b) => b.banKey)).toEqual(['y', 'x']);
  });
});
