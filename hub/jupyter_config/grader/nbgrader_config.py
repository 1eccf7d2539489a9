# The course's formgrader service (hub/jupyterhub_config.py puts this folder on its JUPYTER_CONFIG_PATH):
# nbgrader and formgrader use the checkout's grading configuration wherever the server starts. The course
# root (gradebook.db, submitted/, autograded/, feedback/) is $GANCOURSE_COURSE_ROOT, set by the hub's config.
c = get_config()  # noqa: F821
load_subconfig("../../../autograder/nbgrader_config.py")  # noqa: F821 - relative to this file
