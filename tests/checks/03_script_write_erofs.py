# The script itself is mounted read-only at /app/script.py.
import errno

try:
    open("/app/script.py", "w").write("pwned")
except OSError as e:
    print("errno", errno.errorcode[e.errno])
    raise
