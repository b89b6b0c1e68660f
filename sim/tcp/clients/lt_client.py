# A libtorrent (python3-libtorrent) peer for swarmlab's interop tests and bench, on 127.0.0.1 only.
# Usage: lt_client.py seed|leech <torrent-file|magnet> <save-dir> <port> [peer HOST:PORT ...]
# Prints "listening PORT" when ready, "done SECONDS" when a leech completes (then exits 0).
import sys, time
import libtorrent as lt

mode, source, save, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
peers = [(p.rsplit(':', 1)[0], int(p.rsplit(':', 1)[1])) for p in sys.argv[5:]]

ses = lt.session({
    'listen_interfaces': '127.0.0.1:%d' % port,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'allow_multiple_connections_per_ip': True,
    'enable_incoming_utp': False, 'enable_outgoing_utp': False,
    'announce_to_all_tiers': True, 'announce_to_all_trackers': True,
    'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.tracker_notification | lt.alert.category_t.status_notification,
})
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
while True:
    st = h.status()
    now = time.time()
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
    if mode == 'leech' and st.is_seeding:
        print('done %.3f' % (now - start), flush=True)
        break
    time.sleep(0.05)
