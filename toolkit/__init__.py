"""dftk: deepfake creation and detection toolkit.

The core (this package) hosts generator and detector plugins through pluggy hooks
(:mod:`toolkit.hookspecs`), owns media I/O, the face pipeline, the job runner and the
single output writer that watermarks and signs every generated file.
"""

__version__ = "0.1.0"
