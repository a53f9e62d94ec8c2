#!/usr/bin/env bash
# Registry reload under load: writers ingest batches continuously while the registry is
# reloaded 20 times (POST /v1/registry/reload and SIGHUP, alternating good and bad files).
# Every acknowledged event must be stored, every refusal must be a clean 400 naming the
# type, and nothing may fail with a 5xx or be lost.
source "$(dirname "$0")/lib.sh"

mkdir -p "$EVD_TMP/reg/specs/lte"
cp "$EVD_SOURCE_DIR/examples/registry/specs/lte/mme_events.v1.yml" \
  "$EVD_SOURCE_DIR/examples/registry/specs/lte/session_manager_events.v1.yml" "$EVD_TMP/reg/specs/lte/"
# good A: attach_success only; good B: attach_success and session_created; bad: a typo
printf 'spec_dirs: [specs]\nevent_registry:\n  attach_success: {module: lte, filename: mme_events.v1.yml}\n' \
  >"$EVD_TMP/reg/a.yml"
printf 'spec_dirs: [specs]\nevent_registry:\n  attach_success: {module: lte, filename: mme_events.v1.yml}\n  session_created: {module: lte, filename: session_manager_events.v1.yml}\n' \
  >"$EVD_TMP/reg/b.yml"
printf 'spec_dirs: [specs]\nevent_registry:\n  attach_success: {module: lte, filename: mme_events.v1.yml}\n  session_creatd: {module: lte, filename: session_manager_events.v1.yml}\n' \
  >"$EVD_TMP/reg/bad.yml"
cp "$EVD_TMP/reg/a.yml" "$EVD_TMP/reg/live.yml"

evd_step "ingest continuously while reloading 20 times"
evd_start --registry "$EVD_TMP/reg/live.yml" --sync batch
python3 - "$EVD_URL" "$EVD_PID" "$EVD_TMP" <<'EOF' || evd_fail "reload under load failed"
import http.client, json, os, shutil, signal, sys, threading, time, urllib.parse

url, pid, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
u = urllib.parse.urlparse(url)
acked, refused, problems = [], [0], []
lock = threading.Lock()
stop = threading.Event()

def conn():
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)

def writer(w):
    c = conn()
    i = 0
    while not stop.is_set():
        i += 1
        ids = ["w%d-%d-%d" % (w, i, j) for j in range(20)]
        lines = []
        for j, eid in enumerate(ids):
            if j % 2 == 0:   # registered in every good registry
                ev = {"id": eid, "type": "attach_success", "data": {"imsi": "IMSI00101%010d" % j}}
            else:            # registered only in b.yml
                ev = {"id": eid, "type": "session_created",
                      "data": {"imsi": "IMSI001010000000001", "session_id": eid, "pdp_start_time": i}}
            lines.append(json.dumps(ev))
        body = "\n".join(lines)
        try:
            c.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            data = r.read()
        except Exception as e:
            problems.append("writer %d: %r" % (w, e))
            c.close()
            c = conn()
            continue
        if r.status == 200:
            got = json.loads(data)["ids"]
            if got != ids:
                problems.append("ids differ: %s" % data[:200])
            with lock:
                acked.extend(ids)
        elif r.status == 400:
            errs = json.loads(data)["errors"]
            # only the session_created events may be refused, as unregistered
            for e in errs:
                if e["field"] != "type" or "session_created" not in e["reason"]:
                    problems.append("unexpected 400: %s" % e)
            with lock:
                refused[0] += 1
        else:
            problems.append("status %d: %s" % (r.status, data[:200]))

threads = [threading.Thread(target=writer, args=(w,)) for w in range(2)]
for t in threads:
    t.start()
ctl = conn()
reloads = {"ok": 0, "failed": 0}
for n in range(20):
    time.sleep(0.1)
    src = ["b.yml", "bad.yml", "a.yml", "bad.yml"][n % 4]
    shutil.copy(os.path.join(tmp, "reg", src), os.path.join(tmp, "reg", "live.yml.tmp"))
    os.rename(os.path.join(tmp, "reg", "live.yml.tmp"), os.path.join(tmp, "reg", "live.yml"))
    if n % 2 == 0:
        ctl.request("POST", "/v1/registry/reload")
        r = ctl.getresponse()
        body = r.read()
        want = 422 if src == "bad.yml" else 200
        if r.status != want:
            problems.append("reload %d (%s): %d %s" % (n, src, r.status, body[:200]))
    else:
        os.kill(pid, signal.SIGHUP)
    reloads["failed" if src == "bad.yml" else "ok"] += 1
    # wait until the daemon has handled it (SIGHUP is asynchronous)
    for _ in range(200):
        ctl.request("GET", "/v1/registry")
        r = ctl.getresponse()
        reg = json.loads(r.read())
        if reg["reloads"] + reg["reload_failures"] == n + 1:
            break
        time.sleep(0.05)
    else:
        problems.append("reload %d was not handled" % n)
time.sleep(0.3)
stop.set()
for t in threads:
    t.join()

# every acknowledged event is stored
missing = 0
for eid in acked:
    ctl.request("GET", "/v1/events/" + eid)
    r = ctl.getresponse()
    r.read()
    if r.status != 200:
        missing += 1
ctl.request("GET", "/v1/events/count")
r = ctl.getresponse()
count = json.loads(r.read())["count"]
ctl.request("GET", "/v1/registry")
r = ctl.getresponse()
reg = json.loads(r.read())
print("acked %d events, %d batches refused, stored %d, missing %d, reloads ok %d failed %d"
      % (len(acked), refused[0], count, missing, reg["reloads"], reg["reload_failures"]))
if problems:
    print("\n".join(problems[:20]))
    sys.exit(1)
if missing or count != len(acked):
    sys.exit("acknowledged events were lost")
if len(acked) < 200:
    sys.exit("too little load to mean anything")
if reg["reloads"] != reloads["ok"] or reg["reload_failures"] != reloads["failed"]:
    sys.exit("reload counts differ: %s" % reloads)
EOF
evd_stop
assert_eq "$EVD_EXIT" 0 "clean stop"

evd_pass
