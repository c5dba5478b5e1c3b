# Runs a command with stdout to /dev/null; prints its wall time (s) and peak RSS (KiB) as JSON.
# Both sides of a benchmark go through this, so process start-up and RSS are measured alike.
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t
if rc.returncode != 0:
    sys.stderr.write(rc.stderr.decode())
    sys.exit(rc.returncode)
print(json.dumps({"seconds": wall, "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
