"""File adapters: activity files (FIT, GPX, TCX, Strava exports), training-log CSVs, recordings."""
