"""The one error type a learner sees: a message that says what went wrong and what to do."""


class CourseError(Exception):
    """A problem with the learner's input or environment, shown as one line without a traceback."""
