#!/usr/bin/env bash
# A single-node Ceph with an S3 gateway (RGW) for the replica tests: one monitor, one OSD on
# memstore (in memory: nothing survives a stop), radosgw on 127.0.0.1, no cephx. Debian packages:
# radosgw ceph-mon ceph-osd ceph-mgr ceph-common.
#
# Idempotent and fast when already running: it exits 0 at once if the gateway answers.
# Prints the environment the tests read (LANTAI_TEST_S3_*) on stdout.
#
#   tests/s3/start_ceph_rgw.sh          start (or find running) and print the environment
#   tests/s3/start_ceph_rgw.sh stop     stop the daemons this script started
#
# msgr2 must be told to use crc for monitor and client connections: without
# "ms mon client mode = crc" and "ms client mode = crc" radosgw's authentication hunt fails with
# -13 and it hangs until a 300 s timeout.
set -euo pipefail

DIR="${LANTAI_CEPH_DIR:-/tmp/lantai-ceph}"
PORT="${LANTAI_CEPH_RGW_PORT:-17480}"
MON_PORT="${LANTAI_CEPH_MON_PORT:-16789}"
ACCESS_KEY="lantai-test"
SECRET_KEY="lantai-test-secret"
CONF="$DIR/ceph.conf"

print_env() {
  echo "LANTAI_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT"
  echo "LANTAI_TEST_S3_ACCESS_KEY=$ACCESS_KEY"
  echo "LANTAI_TEST_S3_SECRET_KEY=$SECRET_KEY"
}

answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; }

stop() {
  for name in rgw osd mon; do
    if [ -f "$DIR/run/$name.pid" ]; then
      pid="$(cat "$DIR/run/$name.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$DIR/run/$name.pid"
    fi
  done
}

if [ "${1:-}" = "stop" ]; then stop; exit 0; fi

if answers; then print_env; exit 0; fi

for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y radosgw ceph-mon ceph-osd ceph-mgr ceph-common" >&2; exit 2; }
done

stop  # leftovers of an earlier run whose gateway no longer answers
rm -rf "$DIR"
mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon" "$DIR/osd/ceph-0" "$DIR/rgw"
FSID="$(cat /proc/sys/kernel/random/uuid)"

cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$((MON_PORT + 1)),v1:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms mon client mode = crc
ms client mode = crc
ms mon service mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon cluster mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 4294967296
run dir = $DIR/run
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id
mon warn on pool no redundancy = false
mon_data_avail_warn = 1
mon_data_avail_crit = 0

[client.rgw.lantai]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
rgw dns name = 127.0.0.1
CONF

monmaptool --create --addv a "[v2:127.0.0.1:$((MON_PORT + 1)),v1:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" 2>"$DIR/log/mkfs-mon.err"
ceph-mon -c "$CONF" -i a --pid-file "$DIR/run/mon.pid"

for _ in $(seq 1 60); do timeout 5 ceph -c "$CONF" mon stat >/dev/null 2>&1 && break; sleep 0.5; done
OSD_ID="$(timeout 20 ceph -c "$CONF" osd create)"
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs 2>"$DIR/log/mkfs-osd.err"
ceph-osd -c "$CONF" -i "$OSD_ID" --pid-file "$DIR/run/osd.pid"
for _ in $(seq 1 120); do
  timeout 5 ceph -c "$CONF" osd stat 2>/dev/null | grep -q "1 up" && break; sleep 0.5
done

radosgw -c "$CONF" -n client.rgw.lantai --pid-file "$DIR/run/rgw.pid"
for _ in $(seq 1 120); do answers && break; sleep 0.5; done
if ! answers; then echo "radosgw did not answer on 127.0.0.1:$PORT; see $DIR/log" >&2; exit 1; fi

timeout 60 radosgw-admin -c "$CONF" user create --uid=lantai --display-name="Lantai tests" \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
print_env
