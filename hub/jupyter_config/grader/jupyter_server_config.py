# The course's formgrader service (hub/jupyterhub_config.py puts this folder on its JUPYTER_CONFIG_PATH).
c = get_config()  # noqa: F821
# formgrader's Lab tab is a frame of this same server. JupyterHub's single-user server forbids all framing
# (frame-ancestors 'none'); the server's own pages may frame each other, other sites still may not.
c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
# Its terminals keep the service's PATH (not a login shell's), so `python` and `nbgrader` there are the
# course's environment: `python -m autograder.grade a3_dcgan` grades as book/instructors.md says.
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash"]}
