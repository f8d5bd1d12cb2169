# The sandbox sees the rootfs's own /etc/passwd, never the host's.
print(open("/etc/passwd").read(), end="")
