// The identity of one connection, given by the Peer Manager: the remote's label (host:port in live
// mode, the virtual host in the simulator), its ban key (who it is for bans, trust and the per-IP
// limit) and a serial number unique within one client. The Piece Manager and the choke manager
// compare keys by identity; the label and ban key are read from the key, never parsed out of it.

export class PeerKey {
  constructor(
    readonly label: string,
    readonly banKey: string,
    readonly serial: number,
  ) {}

  /** "<label>#<serial>": for messages and debugging only. */
  toString(): string {
    return `${this.label}#${this.serial}`;
  }
}
