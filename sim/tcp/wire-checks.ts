// The wire checks of a TCP run: every connection that crosses the relay gets a ConnectionChecker
// (sim/wire-checker.ts, the same code as in memory), fed by the relay's tap — what each end wrote
// as the relay read it, and how much of the other end's stream the relay has handed it. Side 'a'
// is the dialer. On real sockets a peer reads what it was handed a little later, so a REQUEST
// within `TCP_CHOKE_GRACE` of a CHOKE's delivery is not yet a request while choked. Every message
// another client sends is traced as a `message` event.

import type { Message } from '../../engine/wire.ts';
import { WireChecks } from '../wire-checks.ts';
import type { ConnectionChecker } from '../wire-checker.ts';
import type { RelayConnection, TcpRelay } from './relay.ts';
import type { TcpSwarm } from './swarm.ts';

/** ms after a CHOKE reaches a peer's socket during which its REQUESTs are still allowed. */
export const TCP_CHOKE_GRACE = 1_000;

/** A message as a trace event's fields: its type and numbers, never its bytes. */
export function messageFields(m: Message): Record<string, unknown> {
  switch (m.type) {
    case 'bitfield':
      return { type: m.type, bytes: m.bits.length };
    case 'piece':
      return { type: m.type, index: m.index, begin: m.begin, length: m.block.length };
    case 'extended':
      return { type: m.type, id: m.id, bytes: m.payload.length };
    default:
      return { ...m };
  }
}

export class RelayWireChecks extends WireChecks {
  private readonly checkers = new Map<number, ConnectionChecker>();

  constructor(swarm: TcpSwarm, relay: TcpRelay) {
    // Another client runs no engine that traces its steps: its messages, decoded here, are its trace.
    super(swarm, TCP_CHOKE_GRACE, (peer, remote, m, t) => {
      if (swarm.isExternal(peer) && m.type !== 'keep-alive') swarm.traceSink.emit({ t, peer, remote, kind: 'message', ...messageFields(m) });
    });
    const label = (ip: string) => swarm.peerAt(ip)?.label ?? ip;
    const checkerOf = (c: RelayConnection) => {
      let checker = this.checkers.get(c.id);
      if (!checker) this.checkers.set(c.id, (checker = this.checker(label(c.dialer), label(c.listener))));
      return checker;
    };
    relay.tap({
      opened: (c) => void checkerOf(c),
      sent: (c, from, bytes, t) => checkerOf(c).sent(from === c.dialer ? 'a' : 'b', bytes, t),
      delivered: (c, to, total, t) => checkerOf(c).delivered(to === c.dialer ? 'a' : 'b', total, t),
      closed: (c) => void this.checkers.delete(c.id),
    });
  }
}
