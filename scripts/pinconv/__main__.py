# SPDX-License-Identifier: GPL-2.0
import sys

from pinconv.cli import main

sys.exit(main(sys.argv[1:]))
