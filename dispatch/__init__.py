"""The sans-I/O dispatch core: alarms, callouts, units, statuses and outcomes."""
