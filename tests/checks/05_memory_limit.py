# A 1 GB string is far beyond the 128M memory limit (swap off).
x = "a" * 1000000000
