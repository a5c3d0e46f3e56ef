"""Processes portside ends or runs: kill (plan + pidfd signals), supervised services, run's guard."""
