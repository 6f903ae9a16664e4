# The steady fleet feed of forward_profile/run.sh: 100 lines every 100 ms
# (1,000 series at 1 s) on one keep-alive connection.
import sys, time, http.client
addr = sys.argv[1]; secs = float(sys.argv[2])
host, port = addr.split(':')
c = http.client.HTTPConnection(host, int(port))
t0 = time.time(); i = 0
while time.time() - t0 < secs:
    ts = time.time_ns()
    body = ''.join(f"fleet/host{((i%10)*100+k)//10:03d}.cpu.m{((i%10)*100+k)%10} {i%100}.5 {ts}\n" for k in range(100))
    c.request('POST', '/api/v1/import', body)
    r = c.getresponse(); r.read()
    i += 1
    d = t0 + 0.1*i - time.time()
    if d > 0: time.sleep(d)
