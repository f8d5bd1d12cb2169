# No network: not even name resolution works.
import urllib.request

urllib.request.urlopen("http://example.com/", timeout=5)
