// The wire checks of a TCP run: every connection that crosses the relay gets a ConnectionChecker
// (sim/wire-checker.ts, the same code as in memory), fed by the relay's tap — what each end wrote
// as the relay read it, and how much of the other end's stream the relay has handed it. Side 'a'
// is the dialer. On real sockets a peer reads what it was handed a little later, so a REQUEST
// within `TCP_CHOKE_GRACE` of a CHOKE's delivery is not yet a request while choked.

import { WireChecks } from '../wire-checks.ts';
import type { ConnectionChecker } from '../wire-checker.ts';
import type { RelayConnection, TcpRelay } from './relay.ts';
import type { TcpSwarm } from './swarm.ts';

/** ms after a CHOKE reaches a peer's socket during which its REQUESTs are still allowed. */
export const TCP_CHOKE_GRACE = 1_000;

export class RelayWireChecks extends WireChecks {
  private readonly checkers = new Map<number, ConnectionChecker>();

  constructor(swarm: TcpSwarm, relay: TcpRelay) {
    super(swarm, TCP_CHOKE_GRACE);
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
