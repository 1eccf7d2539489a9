# nbgrader reads this file when run from the repository root; the real configuration lives in
# autograder/nbgrader_config.py, next to the checks and the grading command.
c = get_config()  # noqa: F821
load_subconfig("autograder/nbgrader_config.py")  # noqa: F821
