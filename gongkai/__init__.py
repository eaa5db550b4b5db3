"""gongkai 政务公开: the composition root (app wiring) and the command-line tool."""
