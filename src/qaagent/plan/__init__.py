"""The plan of a run: the profile's suites and the recorded history made into ordered tasks."""
