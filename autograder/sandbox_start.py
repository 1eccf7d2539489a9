"""Runs first inside every grading sandbox (see sandbox.py): limits, the submission's files, then the kernel.

    python sandbox_start.py memory_mb=4096 cpu_seconds=900 ... -- python -m ipykernel_launcher -f ...
"""

import os
import resource
import shutil
import sys

MB = 2**20
split = sys.argv.index("--")
limits = {key: int(value) for key, value in (arg.split("=") for arg in sys.argv[1:split])}
kernel = sys.argv[split + 1:]

# The submission's own files (helper modules, data it shipped) in a writable folder of the home.
work = os.path.join(os.path.expanduser("~"), "submission")
shutil.copytree("/submission", work, dirs_exist_ok=True, symlinks=True)
os.chdir(work)

for which, value in ((resource.RLIMIT_NPROC, limits["processes"]),
                     (resource.RLIMIT_CPU, limits["cpu_seconds"]),
                     (resource.RLIMIT_DATA, limits["memory_mb"] * MB),
                     (resource.RLIMIT_FSIZE, limits["file_mb"] * MB),
                     (resource.RLIMIT_NOFILE, limits["open_files"]),
                     (resource.RLIMIT_CORE, 0)):
    resource.setrlimit(which, (value, value))

# The kernel starts without the submission's folder on its path (python -P), so no file of the submission can stand in
# for a module the kernel imports while it starts (an outside tester shipped an ipykernel_launcher.py); once it runs,
# the folder is appended to the path, after the installed modules, for the submission's own helper modules.
if kernel[1:3] == ["-m", "ipykernel_launcher"]:
    kernel = [kernel[0], "-P", *kernel[1:], f"--IPKernelApp.exec_lines=import sys; sys.path.append({work!r})"]
os.execv(kernel[0], kernel)
