"""The classroom tools: the student edition and offline autograding, through nbgrader (the ``classroom`` extra).

``python -m classroom student`` (``make student``) and ``python -m classroom grade DIR``
(``make grade``); see docs/teaching.md. Not part of the course package: learners never need it.
"""
