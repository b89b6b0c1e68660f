// One connection as a choker sees it at a rechoke: the ChokeManager's and BitTyrant's input
// (engine/choke-manager.ts, engine/bittyrant.ts), filled by the client (engine/client.ts).

/** `K` names one connection (the engine's `PeerKey`, compared by identity). */
export interface ChokeCandidate<K = string> {
  key: K;
  interested: boolean;
  snubbed: boolean;
  /**
   * Higher first. Leeching: bytes received from this peer since the last rechoke. Seeding (round
   * robin, engine/client.ts): minus the bytes sent to it over the connection.
   */
  rate: number;
  /** The same over the whole connection: breaks ties between equal rates (often all zero). */
  total: number;
  choked: boolean;
  /** The peer chokes us (BitTyrant: it did not reciprocate). */
  peerChoking: boolean;
  /** Bytes sent to the peer since the last rechoke (BitTyrant measures its upload with them). */
  sent: number;
  /** Bytes of the pieces the peer has announced (BITFIELD and HAVEs): how fast it downloads. */
  announced: number;
}
