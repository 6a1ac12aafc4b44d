"""Record a fleet's snapshots and events to a file, and play them back.

frames.py is the file format, delta.py the snapshot deltas, writer.py and reader.py
the two ends, recorder.py follows a live fleet into a writer, player.py plays a
recording to the console as its backend.
"""
