"""nbgrader's configuration for the course, copied into each course folder that `python -m classroom` builds.

nbgrader reads ``nbgrader_config.py`` from the folder it runs in; that folder is the course root
(source/, release/, submitted/, autograded/ and the SQLite gradebook, gradebook.db).
See https://nbgrader.readthedocs.io/en/stable/configuration/config_options.html.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "alexnet-course"
# nbgrader's default stub, spelled out: the checks (alexnet_lib/lessons/checking.py) read the
# NotImplementedError as "Not done yet". Solution regions sit inside function bodies only.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Autograding runs the whole lesson, training included: no per-cell limit of nbgrader's 30 s.
c.Execute.timeout = None
c.Execute.startup_timeout = 120
