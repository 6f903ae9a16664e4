# The steady feeds of forward_profile/run.sh, on one keep-alive connection:
# fleet (default): 100 lines every 100 ms (1,000 series at 1 s);
# edge: 86 lines every 10 s (86 series at 10 s, the size of gen_workload.py edge).
import sys, time, http.client
addr = sys.argv[1]; secs = float(sys.argv[2]); kind = sys.argv[3] if len(sys.argv) > 3 else 'fleet'
host, port = addr.split(':')
c = http.client.HTTPConnection(host, int(port))
t0 = time.time(); i = 0
while time.time() - t0 < secs:
    ts = time.time_ns()
    if kind == 'edge':
        body = ''.join(f"edge/s{k:02d} {i%100}.5 {ts}\n" for k in range(86))
        period = 10.0
    else:
        body = ''.join(f"fleet/host{((i%10)*100+k)//10:03d}.cpu.m{((i%10)*100+k)%10} {i%100}.5 {ts}\n" for k in range(100))
        period = 0.1
    if kind == 'edge':
        # 10 s apart: longer than the server keeps an idle connection.
        c = http.client.HTTPConnection(host, int(port))
    c.request('POST', '/api/v1/import', body)
    r = c.getresponse(); r.read()
    i += 1
    d = t0 + period*i - time.time()
    if d > 0: time.sleep(d)
