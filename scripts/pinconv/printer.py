# SPDX-License-Identifier: GPL-2.0
"""Progress and error lines, in the spirit of kunit_printer.py."""

import sys
import time
from typing import Optional, TextIO


class Error(Exception):
	"""An error the user can fix; printed as one line, exit code 1."""


class Printer:
	def __init__(self, out: TextIO) -> None:
		self._out = out
		self._start = time.monotonic()

	def elapsed(self) -> float:
		return time.monotonic() - self._start

	def step(self, what: str) -> None:
		"""One progress line: '[  12.3s] what'."""
		print(f'[{self.elapsed():7.1f}s] {what}', file=self._out, flush=True)

	def progress(self, done: int, total: int, what: str) -> None:
		self.step(f'{done}/{total} {what}')


stdout = Printer(sys.stdout)


def error(msg: str, stream: Optional[TextIO] = None) -> None:
	print(f'pinconv: error: {msg}', file=stream or sys.stderr, flush=True)
