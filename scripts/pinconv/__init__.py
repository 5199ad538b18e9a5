# SPDX-License-Identifier: GPL-2.0
"""pinconv: convert Direct-I/O callers from page references to page pins."""
