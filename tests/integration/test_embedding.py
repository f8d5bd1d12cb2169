"""libnsrun as a library: installed with its pkg-config file, used from C."""
import os
import pathlib
import shutil
import subprocess
import types

import pytest

SOURCE = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(nsrun_binary, tmp_path_factory):
    build_dir = pathlib.Path(nsrun_binary).parent
    if not (build_dir / "CMakeCache.txt").exists():
        pytest.skip(f"{build_dir} is not a CMake build directory")
    prefix = tmp_path_factory.mktemp("prefix")
    subprocess.run(["cmake", "--install", str(build_dir), "--prefix", str(prefix)], check=True,
                   capture_output=True)
    return types.SimpleNamespace(prefix=prefix, build_dir=build_dir)


def test_install_layout(installed):
    prefix = installed.prefix
    for path in ("include/nsrun.h", "bin/nsrun", "share/nsrun/seccomp.json"):
        assert (prefix / path).exists(), path
    assert list(prefix.glob("lib*/libnsrun.so*")), "libnsrun.so was not installed"
    assert list(prefix.glob("lib*/pkgconfig/nsrun.pc"))


def test_shared_library_exports_only_the_public_api(installed):
    library = sorted(installed.prefix.glob("lib*/libnsrun.so.*"))[-1]
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True,
                             text=True, check=True).stdout.split()
    exported = {s for s in symbols if s.startswith(("nsrun_", "cg_", "mon_", "sc_", "pol_"))}
    assert exported and all(s.startswith("nsrun_") for s in exported), exported


def test_c_example_builds_with_pkg_config_and_runs(installed, rootfs, tmp_path):
    pkgconfig = next(installed.prefix.glob("lib*/pkgconfig"))
    env = dict(os.environ, PKG_CONFIG_PATH=str(pkgconfig))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "nsrun"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    binary = tmp_path / "embed"
    cache = (pathlib.Path(installed.build_dir) / "CMakeCache.txt").read_text()
    if "NSRUN_SANITIZE:BOOL=ON" in cache:  # the library needs its sanitizer runtimes
        flags.append("-fsanitize=address,undefined")
    subprocess.run([shutil.which("cc") or "gcc", str(SOURCE / "examples/embed.c"), "-o", str(binary),
                    *flags, f"-Wl,-rpath,{pkgconfig.parent}"], check=True)
    script = tmp_path / "hello.py"
    script.write_text('print("embedded")\n')
    env["NSRUN_SECCOMP_POLICY"] = str(SOURCE / "policy/seccomp.json")
    result = subprocess.run([str(binary), str(script), rootfs], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "status: ok" in result.stdout and "stdout: embedded" in result.stdout
    assert '"status":"ok"' in result.stdout
    script.write_text("while True: pass\n")
    result = subprocess.run([str(binary), str(script), rootfs], env=env, capture_output=True,
                            text=True, timeout=60)
    assert "status: timeout" in result.stdout
    assert "message: Execution timed out after 2 seconds." in result.stdout
