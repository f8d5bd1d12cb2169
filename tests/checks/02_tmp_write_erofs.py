# /tmp is read-only, as under docker run --read-only.
import errno

try:
    open("/tmp/hack.txt", "w").write("pwned")
except OSError as e:
    print("errno", errno.errorcode[e.errno])
    raise
