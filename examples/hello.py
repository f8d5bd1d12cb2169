"""A first script for nsrun: shows what the sandbox looks like from inside."""
import os
import platform
import socket

print(f"Hello from Python {platform.python_version()} inside nsrun!")
print(f"I am uid {os.getuid()}, pid {os.getpid()}, on host '{socket.gethostname()}'.")
print(f"Processes I can see: {sorted(int(p) for p in os.listdir('/proc') if p.isdigit())}")
try:
    open("/tmp/note.txt", "w")
except OSError as error:
    print(f"Writing /tmp fails: {error.strerror}")
