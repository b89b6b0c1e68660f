# A libtorrent (python3-libtorrent) peer for swarmlab: the `libtorrent` client adapter of TCP runs
# (sim/tcp/clients/libtorrent.ts), and the interop tests and bench (test/helpers/clients.ts).
# Loopback only; DHT (unless --dht), LSD, UPnP, NAT-PMP and uTP off; several connections per IP allowed.
#
# Usage: lt_client.py seed|leech <torrent-file|magnet> <save-dir> <port> [options] [peer HOST:PORT ...]
#   --ip IP       listen on IP:port and bind every outgoing connection to IP (default 127.0.0.1)
#   --stay        a leech that completes stays, seeding (default: it exits 0)
#   --parent PID  exit when process PID is gone (the adapter's own process)
#   --dht HOST:PORT  DHT on, bootstrapped to that node only, loopback and unverified node ids allowed
# The torrent's trackers are announced to (the min announce interval lifted to the tracker's own).
# Prints "listening PORT" when ready, "done SECONDS" when a leech completes.
import os, sys, time
import libtorrent as lt

args = sys.argv[1:]
ip, stay, parent, dht, rest = '127.0.0.1', False, None, None, []
i = 0
while i < len(args):
    if args[i] == '--ip':
        ip = args[i + 1]; i += 2
    elif args[i] == '--stay':
        stay = True; i += 1
    elif args[i] == '--parent':
        parent = int(args[i + 1]); i += 2
    elif args[i] == '--dht':
        dht = args[i + 1]; i += 2
    else:
        rest.append(args[i]); i += 1
mode, source, save, port = rest[0], rest[1], rest[2], int(rest[3])
peers = [(p.rsplit(':', 1)[0], int(p.rsplit(':', 1)[1])) for p in rest[4:]]

settings = {
    'listen_interfaces': '%s:%d' % (ip, port),
    'outgoing_interfaces': ip,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    # Every peer of a run is on loopback; libtorrent's default allows one connection per IP.
    'allow_multiple_connections_per_ip': True,
    'enable_incoming_utp': False, 'enable_outgoing_utp': False,
    'announce_to_all_tiers': True, 'announce_to_all_trackers': True,
    # A run's tracker is on loopback at /announce/<label>; SSRF mitigation refuses such a path.
    'ssrf_mitigation': False,
    # A scenario's announce interval is the scenario's choice (libtorrent's floor is 300 s).
    'min_announce_interval': 1,
    'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.tracker_notification | lt.alert.category_t.status_notification,
}
if dht is not None:
    settings.update({
        'enable_dht': True,
        'dht_bootstrap_nodes': dht,
        # Every node of a test is on 127.0.0.1 with a random id: libtorrent refuses such nodes by default.
        'dht_restrict_routing_ips': False, 'dht_restrict_search_ips': False,
        'dht_ignore_dark_internet': False, 'dht_prefer_verified_node_ids': False,
    })
ses = lt.session(settings)
if source.startswith('magnet:'):
    atp = lt.parse_magnet_uri(source)
else:
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(source)
atp.save_path = save
if mode == 'seed':
    atp.flags |= lt.torrent_flags.seed_mode
h = ses.add_torrent(atp)
# Ready when the torrent is loaded (seeds: checked and seeding), so a peer that dials us is served.
deadline = time.time() + 20
while time.time() < deadline:
    st = h.status()
    if mode != 'seed' or st.is_seeding:
        break
    time.sleep(0.05)
print('listening %d' % ses.listen_port(), flush=True)
start = time.time()
last_dial = 0.0
last_print = 0.0
done = False
while True:
    st = h.status()
    now = time.time()
    if parent is not None:
        try:
            os.kill(parent, 0)
        except OSError:
            print('parent %d is gone: exiting' % parent, file=sys.stderr, flush=True)
            break
    if peers and st.num_peers == 0 and now - last_dial > 2:
        last_dial = now
        for p in peers:
            try:
                h.connect_peer(p)
            except Exception as e:
                print('connect_peer failed: %s' % e, file=sys.stderr, flush=True)
    for a in ses.pop_alerts():
        if isinstance(a, (lt.tracker_error_alert, lt.tracker_warning_alert, lt.tracker_reply_alert, lt.scrape_failed_alert)) or a.category() & lt.alert.category_t.error_notification:
            print('alert %s: %s' % (type(a).__name__, a.message()), file=sys.stderr, flush=True)
    if now - last_print > 1:
        last_print = now
        print('state %s progress %.3f peers %d down %d up %d' % (st.state, st.progress, st.num_peers, st.download_rate, st.upload_rate), file=sys.stderr, flush=True)
    if mode == 'leech' and st.is_seeding and not done:
        done = True
        print('done %.3f' % (now - start), flush=True)
        if not stay:
            break
    time.sleep(0.05)
