"""Watching the engine: the state gauges read from the database at scrape time, and the HTTP
endpoint (`mtf metrics serve`) that serves them with the processes' counters."""
